"""Locations: the client tenants under an agency."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from typing import Any

from django.db import transaction

from saas_platform.kernel.errors import ApplicationError

from ..models import Agency, Location, User
from .agency_entitlements import agency_location_capacity_check
from .common import audit_record, update_fields, validated

LOCATION_EDITABLE = ("name", "industry", "timezone", "status", "ghl_location_id")


@transaction.atomic
def location_create(
    *,
    agency: Agency,
    name: str,
    acting_user: User | None,
    industry: str = Location.Industry.GENERIC,
    timezone_name: str = "UTC",
    ghl_location_id: str | None = None,
) -> Location:
    location = Location(
        agency=agency,
        name=name,
        industry=industry,
        timezone=timezone_name,
        ghl_location_id=ghl_location_id or None,
    )
    validated(location)
    agency_location_capacity_check(agency=agency)
    location.save()
    audit_record(
        action="location.created",
        target=location,
        acting_user=acting_user,
        agency=agency,
        location=location,
        changes={f: (None, getattr(location, f)) for f in LOCATION_EDITABLE},
    )
    return location


@transaction.atomic
def location_update(
    *, location: Location, acting_user: User | None, data: Mapping[str, Any]
) -> Location:
    archived = Location.Status.ARCHIVED
    if location.status == archived and data.get("status", archived) != archived:
        # Back from the archive, it takes a place under the agency's plan again.
        agency_location_capacity_check(agency=location.agency)
    changes = update_fields(location, data, allowed=LOCATION_EDITABLE)
    if changes:
        audit_record(
            action="location.updated",
            target=location,
            acting_user=acting_user,
            agency=location.agency,
            location=location,
            changes=changes,
        )
    return location


@transaction.atomic
def location_ensure_for_ghl(
    *, agency: Agency, ghl_location_id: str, name: str, timezone_name: str = ""
) -> Location:
    """The location of a GHL sub-account, created when the app is installed on it. Idempotent;
    a location GHL moved to another agency is refused rather than silently re-parented."""
    existing: Location | None = (
        Location.objects.unscoped()
        .select_for_update()
        .filter(ghl_location_id=ghl_location_id)
        .first()
    )
    if existing is not None:
        if existing.agency_id != agency.pk:
            raise ApplicationError(
                f"GHL location {ghl_location_id} belongs to another agency on this platform."
            )
        return existing
    zone = timezone_name if timezone_name in zoneinfo.available_timezones() else "UTC"
    return location_create(
        agency=agency,
        name=name.strip()[:200] or ghl_location_id,
        timezone_name=zone,
        ghl_location_id=ghl_location_id,
        acting_user=None,
    )
