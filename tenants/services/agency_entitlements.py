"""Agency entitlements: what the platform plan an agency pays for lets it use. Billing decides
(from the agency's platform subscription); tenants stores, audits and enforces them.

A key a plan does not set is not limited. An agency with no record at all has never bought a
platform plan and keeps the platform's behaviour from before such plans existed: no limits."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction

from saas_platform.kernel.errors import ApplicationError

from ..models import Agency, AgencyEntitlements, Location, User
from .common import audit_record
from .entitlements import granted_validate

# The keys a platform plan may grant an agency, and the type of each value.
AGENCY_ENTITLEMENT_KEYS: dict[str, type] = {
    "max_locations": int,  # client locations (not archived) the agency may have
    "custom_domains": int,  # white-label domains of its own, beyond the platform subdomain
    "api_access": bool,  # agency-wide API keys
    "agency_seats": int,  # owners, admins and staff of the agency
}


def agency_entitlements_validate(granted: Mapping[str, Any]) -> dict[str, Any]:
    """A clean copy of `granted`, or an ApplicationError naming what is wrong."""
    return granted_validate(granted, keys=AGENCY_ENTITLEMENT_KEYS, noun="agency entitlements")


@transaction.atomic
def agency_entitlements_set(
    *,
    agency: Agency,
    granted: Mapping[str, Any],
    state: str,
    grace_until: datetime | None = None,
    acting_user: User | None = None,
) -> AgencyEntitlements:
    """Set what `agency` may use and whether it is paused. Idempotent: an unchanged call writes
    nothing (and no audit row)."""
    if state not in AgencyEntitlements.State.values:
        raise ApplicationError(f"Unknown entitlement state {state!r}.")
    clean = agency_entitlements_validate(granted)
    found = AgencyEntitlements.objects.select_for_update().get_or_create(
        agency=agency, defaults={"granted": clean, "state": state, "grace_until": grace_until}
    )
    record: AgencyEntitlements = found[0]
    changes: dict[str, tuple[Any, Any]] = {}
    if found[1]:
        changes = {"granted": (None, clean), "state": (None, state)}
    else:
        for field, new in (("granted", clean), ("state", state), ("grace_until", grace_until)):
            old = getattr(record, field)
            if old != new:
                setattr(record, field, new)
                changes[field] = (old, new)
        if changes:
            record.save(update_fields=[*changes, "updated_at"])
    if changes:
        audit_record(
            action="agency.entitlements_changed",
            target=record,
            acting_user=acting_user,
            agency=agency,
            changes=changes,
        )
    return record


def agency_location_capacity_check(*, agency: Agency) -> None:
    """Refuse (ApplicationError) a new location the agency's platform plan does not allow. Call
    inside the transaction that creates it: the agency row is locked, so two concurrent adds
    cannot both take the last place."""
    record: AgencyEntitlements | None = AgencyEntitlements.objects.for_agency(agency).first()
    if record is None:
        return
    if record.state == AgencyEntitlements.State.PAUSED:
        raise ApplicationError(
            "Your agency's platform subscription is paused (unpaid or ended), so no location can "
            "be added. Existing locations keep working; settle it under Agency → Subscription."
        )
    limit = record.granted.get("max_locations")
    if limit is None:
        return
    list(Agency.objects.select_for_update().filter(pk=agency.pk).values_list("pk", flat=True))
    in_use = Location.objects.for_agency(agency).exclude(status=Location.Status.ARCHIVED).count()
    if in_use >= limit:
        raise ApplicationError(
            f"Your agency's platform plan allows {limit} location{'s' if limit != 1 else ''} "
            f"and {in_use} {'are' if in_use != 1 else 'is'} in use. Archive one or choose a "
            "larger plan under Agency → Subscription to add more."
        )
