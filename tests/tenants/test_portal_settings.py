"""The workspace's settings page (/app/l/<id>/settings/): name and time zone, validated and
audited."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from tenants.models import AuditLogEntry, Location
from tests.conftest import World

pytestmark = pytest.mark.django_db


def _url(world: World) -> str:
    return f"/app/l/{world.a.locations[0].pk}/settings/"


def test_the_form_shows_the_current_settings(
    world: World, agency_client: Callable[..., Client]
) -> None:
    text = agency_client(world.a, world.a.client_admin).get(_url(world)).content.decode()
    assert 'value="A Location 1"' in text
    assert '<option value="UTC" selected>' in text and "Asia/Dubai" in text
    assert '<label for="id_timezone">Time zone' in text


def test_saving_changes_the_business_and_records_who_did(
    world: World, agency_client: Callable[..., Client]
) -> None:
    client = agency_client(world.a, world.a.client_admin)
    response = client.post(_url(world), {"name": "  Acme Dental  ", "timezone": "Asia/Dubai"})
    assert response.status_code == 302 and response["Location"] == _url(world)
    location = Location.objects.for_agency(world.a.agency).get(pk=world.a.locations[0].pk)
    assert (location.name, location.timezone) == ("Acme Dental", "Asia/Dubai")
    entry = AuditLogEntry.objects.for_agency(world.a.agency).get(action="location.updated")
    assert entry.actor == world.a.client_admin
    assert entry.changes == {
        "name": ["A Location 1", "Acme Dental"],
        "timezone": ["UTC", "Asia/Dubai"],
    }
    assert "Settings saved." in client.get(_url(world)).content.decode()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "Acme", "timezone": "Mars/Olympus"}, "timezone", "is not a time zone we know"),
        ({"name": "Acme", "timezone": ""}, "timezone", "This field is required."),
        ({"name": "   ", "timezone": "UTC"}, "name", "This field is required."),
        ({"name": "x" * 201, "timezone": "UTC"}, "name", "at most 200 characters"),
    ],
)
def test_bad_input_is_explained_next_to_the_field_and_nothing_is_saved(
    world: World,
    agency_client: Callable[..., Client],
    data: dict[str, str],
    field: str,
    message: str,
) -> None:
    response = agency_client(world.a, world.a.client_admin).post(_url(world), data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    text = response.content.decode()
    assert f'id="id_{field}_error"' in text or 'aria-invalid="true"' in text
    location = Location.objects.for_agency(world.a.agency).get(pk=world.a.locations[0].pk)
    assert (location.name, location.timezone) == ("A Location 1", "UTC")
    assert (
        not AuditLogEntry.objects.for_agency(world.a.agency)
        .filter(action="location.updated")
        .exists()
    )


def test_agency_staff_see_the_settings_but_cannot_change_them(
    world: World, agency_client: Callable[..., Client]
) -> None:
    staff = agency_client(world.a, world.a.staff)
    text = staff.get(_url(world)).content.decode()
    assert "A Location 1" in text and "Save settings" not in text
    assert staff.post(_url(world), {"name": "Hijack", "timezone": "UTC"}).status_code == 403
    assert Location.objects.for_agency(world.a.agency).get(pk=world.a.locations[0].pk).name == (
        "A Location 1"
    )


def test_the_agency_owner_may_change_them(
    world: World, agency_client: Callable[..., Client]
) -> None:
    owner = agency_client(world.a, world.a.owner)
    assert owner.post(_url(world), {"name": "Renamed", "timezone": "UTC"}).status_code == 302
    assert Location.objects.for_agency(world.a.agency).get(pk=world.a.locations[0].pk).name == (
        "Renamed"
    )
