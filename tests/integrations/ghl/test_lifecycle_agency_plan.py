"""A location GHL creates for an agency whose platform plan is full is refused with the reason
(the event ends there rather than being retried), and nothing is installed."""

from __future__ import annotations

import pytest

from integrations.ghl.lifecycle import lifecycle_event_apply
from integrations.ghl.models import GhlInstallation
from sandbox.ghl.testing import StandIn
from tenants import services
from tenants.models import Agency, Location
from tests.integrations.conftest import APEX, DUBAI, Installer

pytestmark = pytest.mark.django_db


def test_a_new_ghl_location_beyond_max_locations_is_refused(
    install: Installer, ghl: StandIn
) -> None:
    install(company_id=APEX, approvedLocations=[DUBAI], futureLocations=True)
    agency = Agency.objects.get(ghl_company_id=APEX)
    in_use = Location.objects.for_agency(agency).count()
    services.agency_entitlements_set(
        agency=agency, granted={"max_locations": in_use}, state="active"
    )
    created = ghl.create_location(APEX, name="Apex Sharjah", timezone="Asia/Dubai")
    payload = {"type": "LocationCreate", "id": created["id"], "companyId": APEX}
    outcome = lifecycle_event_apply(payload=payload, occurred_at=None)
    assert outcome.startswith(f"refused the new location {created['id']}: ")
    assert f"allows {in_use} location" in outcome
    assert not Location.objects.unscoped().filter(ghl_location_id=created["id"]).exists()
    assert not GhlInstallation.objects.unscoped().filter(ghl_location_id=created["id"]).exists()

    # A larger plan: the same event now installs it.
    services.agency_entitlements_set(
        agency=agency, granted={"max_locations": in_use + 1}, state="active"
    )
    outcome = lifecycle_event_apply(payload=payload, occurred_at=None)
    assert outcome == f"installed on the new location {created['id']}"
