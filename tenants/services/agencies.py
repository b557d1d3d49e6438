"""Agencies, their domains and their branding."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from saas_platform.kernel.errors import ApplicationError
from saas_platform.kernel.logging import get_logger

from .. import dns
from ..models import Agency, AgencyDomain, Branding, User
from .common import audit_record, update_fields, validated

log = get_logger(__name__)

BRANDING_EDITABLE = (
    "display_name",
    "logo_url",
    "favicon_url",
    "primary_color",
    "accent_color",
    "background_color",
    "font",
    "support_email",
    "sender_name",
)
AGENCY_EDITABLE = ("name", "status", "allow_self_signup", "allow_sso_join")


def normalize_domain(raw: str) -> str:
    """`Portal.Example.com.` → `portal.example.com`; internationalized names → punycode."""
    value = raw.strip().rstrip(".").lower()
    try:
        return value.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ApplicationError(
            _("%(raw)s is not a valid domain name.") % {"raw": repr(raw)}
        ) from exc


def platform_subdomain(slug: str) -> str:
    return f"{slug}.{settings.PLATFORM_BASE_DOMAIN}"


@transaction.atomic
def agency_create(
    *,
    name: str,
    slug: str | None = None,
    ghl_company_id: str | None = None,
    acting_user: User | None = None,
    branding: Mapping[str, Any] | None = None,
) -> Agency:
    """A new agency with its branding and a verified platform subdomain as its primary domain."""
    slug = slug or slugify(name)[:50]
    agency = Agency(name=name, slug=slug, ghl_company_id=ghl_company_id or None)
    validated(agency)
    agency.save()
    brand = Branding(agency=agency, **{"display_name": name, **(branding or {})})
    validated(brand, exclude=["agency"])
    brand.save()
    domain = AgencyDomain(
        agency=agency,
        domain=platform_subdomain(slug),
        kind=AgencyDomain.Kind.PLATFORM,
        is_primary=True,
        verified_at=timezone.now(),
    )
    validated(domain, exclude=["agency"])
    domain.save()
    audit_record(
        action="agency.created",
        target=agency,
        acting_user=acting_user,
        agency=agency,
        changes={"name": (None, name), "slug": (None, slug), "domain": (None, domain.domain)},
    )
    return agency


def _free_slug(name: str) -> str:
    base = (slugify(name)[:40] or "agency").strip("-")
    slug, n = base, 1
    while Agency.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def agency_onboard_from_ghl(*, company_id: str, name: str, logo_url: str = "") -> Agency:
    """The agency of a GHL company, created on its first install (zero-click onboarding): its
    own name and logo, a platform subdomain, nothing of GHL's brand. Idempotent."""
    existing = Agency.objects.select_for_update().filter(ghl_company_id=company_id).first()
    if existing is not None:
        return existing
    branding = {"logo_url": logo_url} if logo_url.startswith("https://") else {}
    agency = agency_create(
        name=name.strip() or "New agency",
        slug=_free_slug(name),
        ghl_company_id=company_id,
        branding=branding,
        acting_user=None,
    )
    log.info("tenants.agency.onboarded", agency_id=agency.pk, company_id=company_id)
    return agency


@transaction.atomic
def agency_link_ghl_company(*, agency: Agency, company_id: str, acting_user: User | None) -> Agency:
    """Attach a GHL company to an agency created by hand (first "Connect HighLevel")."""
    if agency.ghl_company_id == company_id:
        return agency
    if agency.ghl_company_id:
        raise ApplicationError(
            _("This account is already connected to another HighLevel agency; disconnect it first.")
        )
    if Agency.objects.filter(ghl_company_id=company_id).exclude(pk=agency.pk).exists():
        raise ApplicationError(_("That HighLevel agency is already connected to another account."))
    agency.ghl_company_id = company_id
    agency.save(update_fields=["ghl_company_id", "updated_at"])
    audit_record(
        action="agency.ghl_linked",
        target=agency,
        acting_user=acting_user,
        agency=agency,
        changes={"ghl_company_id": (None, company_id)},
    )
    return agency


@transaction.atomic
def agency_update(*, agency: Agency, acting_user: User | None, data: Mapping[str, Any]) -> Agency:
    changes = update_fields(agency, data, allowed=AGENCY_EDITABLE)
    if changes:
        audit_record(
            action="agency.updated",
            target=agency,
            acting_user=acting_user,
            agency=agency,
            changes=changes,
        )
    return agency


def agency_domain_add(*, agency: Agency, domain: str, acting_user: User | None) -> AgencyDomain:
    """Claim a custom domain for an agency; it serves nothing until verified."""
    name = normalize_domain(domain)
    base = settings.PLATFORM_BASE_DOMAIN
    if name in settings.PLATFORM_HOSTS or name == base or name.endswith("." + base):
        raise ApplicationError(
            _("%(name)s belongs to the platform; add a domain your agency owns instead.")
            % {"name": name}
        )
    if AgencyDomain.objects.unscoped().filter(domain=name).exists():
        raise ApplicationError(_("%(name)s is already in use by another portal.") % {"name": name})
    record = AgencyDomain(
        agency=agency,
        domain=name,
        kind=AgencyDomain.Kind.CUSTOM,
        verification_token=AgencyDomain.new_verification_token(),
    )
    validated(record)
    try:
        with transaction.atomic():
            record.save()
            audit_record(
                action="domain.added",
                target=record,
                acting_user=acting_user,
                agency=agency,
                changes={"domain": (None, name)},
            )
    except IntegrityError as exc:  # claimed concurrently by someone else
        raise ApplicationError(
            _("%(name)s is already in use by another portal.") % {"name": name}
        ) from exc
    agency_domain_check_later(domain=record)
    return record


def agency_domain_check_later(*, domain: AgencyDomain) -> None:
    """Look for the verification record in the background once the domain row is committed."""
    from ..tasks import agency_domain_check

    transaction.on_commit(partial(agency_domain_check.delay, domain.pk))


def agency_domain_check(*, domain: AgencyDomain) -> bool:
    """Verify the domain if its TXT record carries our token; True when it is (now) verified."""
    if domain.is_verified:
        return True
    published = dns.txt_values(dns.verification_record_name(domain.domain))
    if domain.verification_token not in published:
        log.info("tenants.domain.check_pending", domain=domain.domain, agency_id=domain.agency_id)
        return False
    agency_domain_verify(domain=domain, acting_user=None)
    return True


@transaction.atomic
def agency_domain_verify(*, domain: AgencyDomain, acting_user: User | None) -> AgencyDomain:
    if domain.verified_at is None:
        domain.verified_at = timezone.now()
        domain.save(update_fields=["verified_at", "updated_at"])
        audit_record(
            action="domain.verified",
            target=domain,
            acting_user=acting_user,
            agency=domain.agency,
            changes={"verified_at": (None, domain.verified_at)},
        )
    return domain


@transaction.atomic
def agency_domain_make_primary(*, domain: AgencyDomain, acting_user: User | None) -> AgencyDomain:
    if not domain.is_verified:
        raise ApplicationError(_("Verify the domain before making it the primary one."))
    if domain.is_primary:
        return domain
    previous = AgencyDomain.objects.for_agency(domain.agency).filter(is_primary=True).first()
    if previous:
        previous.is_primary = False
        previous.save(update_fields=["is_primary", "updated_at"])
    domain.is_primary = True
    domain.save(update_fields=["is_primary", "updated_at"])
    audit_record(
        action="domain.made_primary",
        target=domain,
        acting_user=acting_user,
        agency=domain.agency,
        changes={"primary_domain": (previous.domain if previous else None, domain.domain)},
    )
    return domain


@transaction.atomic
def agency_domain_remove(*, domain: AgencyDomain, acting_user: User | None) -> None:
    if domain.kind == AgencyDomain.Kind.PLATFORM:
        raise ApplicationError(_("The platform subdomain cannot be removed."))
    if domain.is_primary:
        raise ApplicationError(_("Make another domain primary before removing this one."))
    audit_record(
        action="domain.removed",
        target=domain,
        acting_user=acting_user,
        agency=domain.agency,
        changes={"domain": (domain.domain, None)},
    )
    domain.delete()


@transaction.atomic
def branding_update(
    *, branding: Branding, acting_user: User | None, data: Mapping[str, Any]
) -> Branding:
    changes = update_fields(branding, data, allowed=BRANDING_EDITABLE)
    if changes:
        audit_record(
            action="branding.updated",
            target=branding,
            acting_user=acting_user,
            agency=branding.agency,
            changes=changes,
        )
    return branding
