"""The pack action on the Location list (agency and staff admin) and the read-only activations."""

from __future__ import annotations

import re
from typing import Any

import pytest

from integrations.packs.models import PackActivation
from sandbox.ghl.testing import StandIn
from tenants.models import Location, Membership, User
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db

LIST = "/admin/tenants/location/"
ACTIVATIONS = "/admin/integrations/packactivation/"


def owner_of(location: Location) -> User:
    user: User = factories.UserFactory(agency=location.agency, email="owner@dubai.test")
    factories.MembershipFactory(
        user=user, agency=location.agency, role=Membership.Role.AGENCY_OWNER
    )
    return user


def test_the_action_asks_for_the_pack_then_activates_it(
    dubai: Location,
    ghl: StandIn,
    agency_client: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = agency_client(dubai.agency, owner_of(dubai))
    chosen = {"action": "activate_pack", "_selected_action": [dubai.pk]}

    page = client.post(LIST, {**chosen, "index": 0})
    text = page.content.decode()
    assert page.status_code == 200 and "Industry pack" in text
    assert "Real estate" in text and "Health clinics" in text and dubai.name in text
    refused = client.post(LIST, {**chosen, "activate": "1", "pack": "dental"})
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    assert not PackActivation.objects.for_location(dubai).exists()

    with django_capture_on_commit_callbacks(execute=True):  # the task runs (eagerly)
        done = client.post(LIST, {**chosen, "activate": "1", "pack": "real_estate"})
    assert done.status_code == 302 and done["Location"] == ACTIVATIONS + "?pack_key=real_estate"
    activation = PackActivation.objects.for_location(dubai).get()
    assert activation.status == PackActivation.Status.PIPELINES_MISSING
    assert len(activation.fields) == 6 and activation.requested_by is not None

    listing = client.get(done["Location"]).content.decode()
    assert "Active — pipelines to create in GHL" in listing and "6 / 6" in listing
    assert 'http-equiv="refresh"' not in listing
    detail = client.get(f"{ACTIVATIONS}{activation.pk}/change/").content.decode()
    assert "Create the pipeline “Leasing” in GHL" in detail
    assert "Preferred Language: " + activation.fields["language"] in detail


def test_the_pack_of_the_locations_industry_is_offered_first(
    world: World, agency_client: Any
) -> None:
    a = world.a
    Location.objects.for_agency(a.agency).update(industry="health_clinic")
    page = agency_client(a, a.owner).post(
        LIST, {"action": "activate_pack", "_selected_action": [loc.pk for loc in a.locations]}
    )
    checked = re.findall(
        r'<input type="radio" name="pack" value="(\w+)"[^>]* checked>', page.content.decode()
    )
    assert checked == ["health_clinic"]
    Location.objects.for_agency(a.agency).filter(pk=a.locations[0].pk).update(industry="generic")
    page = agency_client(a, a.owner).post(
        LIST, {"action": "activate_pack", "_selected_action": [loc.pk for loc in a.locations]}
    )
    assert " checked>" not in page.content.decode()  # mixed industries: no suggestion


def test_a_location_not_connected_shows_why(
    world: World, agency_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    a = world.a
    client = agency_client(a, a.owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            LIST,
            {"action": "activate_pack", "_selected_action": [a.locations[0].pk],
             "activate": "1", "pack": "generic"},
        )  # fmt: skip
    activation = PackActivation.objects.for_location(a.locations[0]).get()
    assert activation.status == PackActivation.Status.FAILED
    assert "not connected to GHL" in activation.error
    assert "not connected to GHL" in client.get(ACTIVATIONS).content.decode()


def test_a_queued_activation_list_refreshes_itself(world: World, agency_client: Any) -> None:
    factories.PackActivationFactory(location=world.a.locations[0], status="queued")
    text = agency_client(world.a, world.a.owner).get(ACTIVATIONS).content.decode()
    assert 'http-equiv="refresh"' in text


def test_another_agencys_locations_and_activations_are_out_of_reach(
    world: World, agency_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    a, b = world.a, world.b
    theirs = factories.PackActivationFactory(location=b.locations[0])
    client = agency_client(a, a.owner)
    assert client.get(f"{ACTIVATIONS}{theirs.pk}/change/").status_code == 404
    assert "B Location" not in client.get(ACTIVATIONS).content.decode()
    # B's location id smuggled into A's selection is not among the locations acted on.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            LIST,
            {"action": "activate_pack", "_selected_action": [b.locations[1].pk],
             "activate": "1", "pack": "generic"},
        )  # fmt: skip
    assert not PackActivation.objects.for_location(b.locations[1]).exists()
    staff = agency_client(a, a.staff)  # agency staff may look, not act
    page = staff.get(LIST)
    assert page.status_code == 200 and "activate_pack" not in page.content.decode()
    assert client.post(f"{ACTIVATIONS}{theirs.pk}/delete/").status_code in (403, 404)


def test_operators_activate_from_the_staff_admin_and_see_every_agency(
    world: World, platform_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    factories.PackActivationFactory(location=world.b.locations[0])
    client = platform_client(world.operator)
    location = world.a.locations[1]
    page = client.post(LIST, {"action": "activate_pack", "_selected_action": [location.pk],
                              "index": 0})  # fmt: skip
    assert page.status_code == 200 and "Industry pack" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            LIST,
            {"action": "activate_pack", "_selected_action": [location.pk],
             "activate": "1", "pack": "health_clinic"},
        )  # fmt: skip
    assert done.status_code == 302
    listing = client.get(ACTIVATIONS).content.decode()
    assert "Agency A" in listing and "Agency B" in listing
    assert PackActivation.objects.for_location(location).get().pack_key == "health_clinic"
