"""Agency entitlements (what the agency's platform plan grants): validated, audited, and
`max_locations` enforced wherever a location is created — while an agency without a platform
plan keeps the behaviour it had before (no limit)."""

from __future__ import annotations

import pytest

from saas_platform.kernel.errors import ApplicationError
from tenants import services
from tenants.models import AgencyEntitlements, AuditLogEntry, Location
from tests.conftest import AgencyClient, World


def _grant(world: World, state: str = "active", **granted: object) -> AgencyEntitlements:
    return services.agency_entitlements_set(agency=world.a.agency, granted=granted, state=state)


@pytest.mark.parametrize(
    ("granted", "message"),
    [
        ({"routing": True}, "Unknown agency entitlements: routing"),
        ({"max_locations": True}, "'max_locations' must be a whole number"),
        ({"max_locations": -1}, "'max_locations' must be a whole number"),
        ({"api_access": 1}, "'api_access' must be true or false"),
        ([("max_locations", 1)], "must be a mapping"),
    ],
)
def test_bad_entitlements_are_refused_and_nothing_is_stored(
    world: World, granted: object, message: str
) -> None:
    with pytest.raises(ApplicationError, match=message):
        services.agency_entitlements_set(agency=world.a.agency, granted=granted, state="active")  # type: ignore[arg-type]
    assert not AgencyEntitlements.objects.unscoped().exists()


def test_setting_is_audited_once_and_idempotent(world: World) -> None:
    for _ in range(2):
        _grant(world, max_locations=3, api_access=True)
    entries = AuditLogEntry.objects.for_agency(world.a.agency).filter(
        action="agency.entitlements_changed"
    )
    assert entries.count() == 1
    _grant(world, "paused", max_locations=3, api_access=True)
    record = AgencyEntitlements.objects.for_agency(world.a.agency).get()
    assert (record.state, record.granted, record.effective) == (
        "paused",
        {"max_locations": 3, "api_access": True},
        {},
    )
    assert entries.count() == 2


def test_without_a_platform_plan_locations_are_not_limited(world: World) -> None:
    for n in range(3):
        services.location_create(agency=world.a.agency, name=f"Extra {n}", acting_user=None)
    assert Location.objects.for_agency(world.a.agency).count() == 5


def test_a_plan_without_max_locations_does_not_limit_them(world: World) -> None:
    _grant(world, api_access=True)
    services.location_create(agency=world.a.agency, name="Extra", acting_user=None)
    assert Location.objects.for_agency(world.a.agency).count() == 3


def test_max_locations_refuses_one_more_and_stores_nothing(world: World) -> None:
    _grant(world, max_locations=3)
    services.location_create(agency=world.a.agency, name="Third", acting_user=None)
    with pytest.raises(ApplicationError, match="allows 3 locations and 3 are in use"):
        services.location_create(agency=world.a.agency, name="Fourth", acting_user=None)
    assert not Location.objects.for_agency(world.a.agency).filter(name="Fourth").exists()
    # The other agency is not limited by A's plan.
    services.location_create(agency=world.b.agency, name="B Third", acting_user=None)
    # An archived location frees its place.
    services.location_update(
        location=world.a.locations[1], acting_user=None, data={"status": "archived"}
    )
    services.location_create(agency=world.a.agency, name="Fourth", acting_user=None)


def test_a_paused_plan_refuses_new_locations_but_keeps_the_existing_ones(world: World) -> None:
    _grant(world, "paused", max_locations=10)
    with pytest.raises(ApplicationError, match="platform subscription is paused"):
        services.location_create(agency=world.a.agency, name="New", acting_user=None)
    assert Location.objects.for_agency(world.a.agency).count() == 2
    _grant(world, "grace", max_locations=10)  # overdue but within grace: still allowed
    services.location_create(agency=world.a.agency, name="New", acting_user=None)


def test_a_ghl_install_of_a_new_location_is_refused_but_a_known_one_still_resolves(
    world: World,
) -> None:
    known = world.a.locations[0]
    Location.objects.unscoped().filter(pk=known.pk).update(ghl_location_id="ghlKnown01")
    _grant(world, max_locations=2)
    again = services.location_ensure_for_ghl(
        agency=world.a.agency, ghl_location_id="ghlKnown01", name="A Location 1"
    )
    assert again.pk == known.pk
    with pytest.raises(ApplicationError, match="allows 2 locations"):
        services.location_ensure_for_ghl(
            agency=world.a.agency, ghl_location_id="ghlNew0001", name="New one"
        )
    assert not Location.objects.unscoped().filter(ghl_location_id="ghlNew0001").exists()


def test_the_agency_admin_shows_the_refusal_instead_of_an_error(
    world: World, agency_client: AgencyClient
) -> None:
    _grant(world, max_locations=2)
    response = agency_client(world.a, world.a.owner).post(
        "/admin/tenants/location/add/",
        {"name": "Third", "industry": "generic", "timezone": "UTC", "status": "active"},
        follow=True,
    )
    assert response.status_code == 200
    assert "allows 2 locations and 2 are in use" in response.content.decode()
    assert Location.objects.for_agency(world.a.agency).count() == 2


def test_bringing_a_location_back_from_the_archive_takes_a_place_again(world: World) -> None:
    archived = world.a.locations[1]
    services.location_update(location=archived, acting_user=None, data={"status": "archived"})
    services.location_create(agency=world.a.agency, name="Replacement", acting_user=None)
    _grant(world, max_locations=2)
    with pytest.raises(ApplicationError, match="allows 2 locations and 2 are in use"):
        services.location_update(location=archived, acting_user=None, data={"status": "active"})
    assert Location.objects.for_agency(world.a.agency).get(pk=archived.pk).status == "archived"
    # Other edits of an archived location are not limited.
    services.location_update(location=archived, acting_user=None, data={"name": "Renamed"})
