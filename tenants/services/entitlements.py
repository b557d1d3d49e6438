"""Entitlements: what a location's plan lets it use. Billing decides; tenants stores, audits and
serves them, so features never need to know billing exists."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction

from saas_platform.kernel.errors import ApplicationError

from ..models import Location, LocationEntitlements, User
from .common import audit_record

# The keys a plan may grant, and the type of each value.
ENTITLEMENT_KEYS: dict[str, type] = {
    "routing": bool,
    "reports": bool,
    "connectors": int,
    "seats": int,
    "contact_limit": int,
}


def entitlements_validate(granted: Mapping[str, Any]) -> dict[str, Any]:
    """A clean copy of `granted`, or an ApplicationError naming what is wrong."""
    return granted_validate(granted, keys=ENTITLEMENT_KEYS, noun="entitlements")


def granted_validate(
    granted: Mapping[str, Any], *, keys: Mapping[str, type], noun: str
) -> dict[str, Any]:
    """`granted` checked against `keys` (name → bool or int), for a location's plan or an
    agency's; `noun` names the kind in the refusal."""
    if not isinstance(granted, Mapping):
        raise ApplicationError("Entitlements must be a mapping of feature to value.")
    unknown = sorted(set(granted) - set(keys))
    if unknown:
        raise ApplicationError(
            f"Unknown {noun}: {', '.join(unknown)}. Known: {', '.join(sorted(keys))}."
        )
    clean: dict[str, Any] = {}
    for key, value in granted.items():
        kind = keys[key]
        # bool is an int in Python: a limit of True is a mistake, not 1.
        if kind is int and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ApplicationError(f"Entitlement {key!r} must be a whole number, 0 or more.")
        if kind is bool and not isinstance(value, bool):
            raise ApplicationError(f"Entitlement {key!r} must be true or false.")
        clean[key] = value
    return clean


@transaction.atomic
def location_entitlements_set(
    *,
    location: Location,
    granted: Mapping[str, Any],
    state: str,
    grace_until: datetime | None = None,
    acting_user: User | None = None,
) -> LocationEntitlements:
    """Set what `location` may use and whether it is paused. Idempotent: an unchanged call
    writes nothing (and no audit row)."""
    if state not in LocationEntitlements.State.values:
        raise ApplicationError(f"Unknown entitlement state {state!r}.")
    clean = entitlements_validate(granted)
    found = LocationEntitlements.objects.select_for_update().get_or_create(
        location=location, defaults={"granted": clean, "state": state, "grace_until": grace_until}
    )
    record: LocationEntitlements = found[0]
    created = found[1]
    changes: dict[str, tuple[Any, Any]] = {}
    if created:
        changes = {"granted": (None, clean), "state": (None, state)}
    else:
        for field, new in (("granted", clean), ("state", state), ("grace_until", grace_until)):
            old = getattr(record, field)
            if old != new:
                setattr(record, field, new)
                changes[field] = (old, new)
        if changes:
            record.save(update_fields=[*changes, "updated_at"])
    # Features read the record cached on the location (tenants.entitlements): keep it current.
    Location.entitlements.related.set_cached_value(location, record)
    if changes:
        audit_record(
            action="location.entitlements_changed",
            target=record,
            acting_user=acting_user,
            agency=location.agency,
            location=location,
            changes=changes,
        )
    return record
