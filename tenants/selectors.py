"""Read-side functions of the tenancy core. Lookups take the tenant; "not yours" and "does not
exist" are the same ``NotFound``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models import Sum

from saas_platform.kernel.errors import NotFound

from .models import (
    Agency,
    AgencyDomain,
    AgencyOwnedQuerySet,
    Location,
    LocationEntitlements,
    LocationRevenue,
    Membership,
    User,
)


def normalize_host(raw_host: str) -> str:
    """`Portal.Example.com:8000` → `portal.example.com` (no port, no trailing dot, lower case)."""
    host = raw_host.strip().lower()
    if host.startswith("["):  # IPv6 literal: never an agency domain
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0].rstrip(".") if ":" in host else host.rstrip(".")


def is_platform_host(host: str) -> bool:
    return host in settings.PLATFORM_HOSTS


def agency_for_host(host: str) -> Agency | None:
    """The agency whose *verified* domain is `host` (with its branding), or None: one indexed
    query per request."""
    return (
        Agency.objects.select_related("branding")
        .filter(domains__domain=host, domains__verified_at__isnull=False)
        .first()
    )


def agency_primary_domain(agency: Agency) -> str:
    """The domain links to the agency's portal are built on: its primary domain while verified,
    else its platform subdomain (a link must never point at a domain we no longer know is
    theirs)."""
    verified = AgencyDomain.objects.for_agency(agency).filter(verified_at__isnull=False)
    record: AgencyDomain | None = (
        verified.filter(is_primary=True).first()
        or verified.filter(kind=AgencyDomain.Kind.PLATFORM).first()
    )
    if record is None:
        raise NotFound(f"{agency} has no primary domain.")
    return record.domain


def agency_portal_url(agency: Agency, path: str = "/") -> str:
    """An absolute link into the agency's portal, built from its primary domain — never from the
    Host of whatever request is being served."""
    port = f":{settings.PUBLIC_PORT}" if settings.PUBLIC_PORT else ""
    return f"{settings.PUBLIC_SCHEME}://{agency_primary_domain(agency)}{port}{path}"


def user_find(*, agency: Agency | None, email: str) -> User | None:
    return User.objects.filter(agency=agency, email__iexact=email.strip()).first()


def membership_role_in_agency(*, user: User, agency: Agency) -> str | None:
    if user.agency_id != agency.pk:
        return None
    return (
        Membership.objects.for_agency(agency)
        .filter(user=user, location__isnull=True)
        .values_list("role", flat=True)
        .first()
    )


def _visible_locations(*, user: User, agency: Agency) -> AgencyOwnedQuerySet:
    locations = Location.objects.for_agency(agency)
    if user.agency_id != agency.pk:
        return locations.none()
    if membership_role_in_agency(user=user, agency=agency):
        return locations
    return locations.filter(memberships__user=user)


def locations_visible_to(*, user: User, agency: Agency) -> list[Location]:
    """Agency members see every location of their agency; client users see their own."""
    return list(_visible_locations(user=user, agency=agency))


def location_get_for_user(*, user: User, agency: Agency, location_id: int) -> Location:
    location: Location | None = (
        _visible_locations(user=user, agency=agency).filter(pk=location_id).first()
    )
    if location is None:
        raise NotFound("No such location.")
    return location


def agency_admin_emails(agency: Agency) -> list[str]:
    """The addresses of the agency's active owners and admins (who are told about its
    connections: reconnect links, paused syncs)."""
    return sorted(
        Membership.objects.for_agency(agency)
        .filter(role__in=Membership.AGENCY_ADMIN_ROLES, user__is_active=True)
        .values_list("user__email", flat=True)
    )


def location_revenue(
    *, location_ids: Sequence[int], date_from: date, date_to: date
) -> dict[int, Decimal]:
    """Paid invoices per location id over the dates (inclusive), where reports meet billing
    (integrations and billing may not import each other; billing records into LocationRevenue).
    Locations without payments are absent, so an empty mapping means billing is not in use."""
    rows = (
        LocationRevenue.objects.filter(
            location_id__in=list(location_ids), paid_on__gte=date_from, paid_on__lte=date_to
        )
        .values("location_id")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    return {row["location_id"]: row["total"] for row in rows}


def location_admin_emails(location: Location) -> list[str]:
    """The addresses of the location's active client admins (who are told about its billing)."""
    return sorted(
        Membership.objects.filter(agency_id=location.agency_id, location=location)
        .filter(role=Membership.Role.CLIENT_ADMIN, user__is_active=True)
        .values_list("user__email", flat=True)
    )


def location_entitlements(location: Location) -> dict[str, object]:
    """What the location may use right now ({} when none are granted or they are paused)."""
    record = LocationEntitlements.objects.for_location(location).first()
    return record.effective if record is not None else {}


def may_manage_location_billing(*, user: User, location: Location) -> bool:
    """The location's client admins, and its agency's owners and admins."""
    if user.agency_id != location.agency_id:
        return False
    role = membership_role_in_agency(user=user, agency=location.agency)
    if role in Membership.AGENCY_ADMIN_ROLES:
        return True
    return (
        Membership.objects.filter(agency_id=location.agency_id, location=location, user=user)
        .filter(role=Membership.Role.CLIENT_ADMIN)
        .exists()
    )
