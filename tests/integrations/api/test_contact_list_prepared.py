"""The contact list's page statement is composed once per shape and reused with each request's
values (saas_platform.kernel.api.prepared): the pages stay exactly what the ORM gives, for every
ordering, cursor direction and location, and what it cannot describe goes through the ORM."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.api.contacts import ContactSerializer
from integrations.mirror.models import MirrorContact
from saas_platform.kernel.api.prepared import PreparedPage, statements
from saas_platform.kernel.api.rows import ROW_ALIAS, json_rows
from saas_platform.kernel.errors import UnscopedQueryError
from tenants.models import Location
from tests import factories
from tests.api.conftest import error_of
from tests.conftest import World

pytestmark = pytest.mark.django_db

EMAILS = ["c@x.test", "a@x.test", "e@x.test", "b@x.test", "d@x.test", "f@x.test", "g@x.test"]


@pytest.fixture(autouse=True)
def _no_statements() -> Any:
    statements.clear()
    yield
    statements.clear()


@pytest.fixture
def locations(world: World) -> list[Location]:
    for location in world.a.locations:
        for email in EMAILS:
            factories.MirrorContactFactory(location=location, email=f"{location.pk}{email}")
    return world.a.locations


def _client(world: World, api: Any) -> Any:
    key = factories.ApiKeyFactory(agency=world.a.agency, location=None, scopes=["contacts:read"])
    return api(key)


def _walk(client: Any, world: World, url: str, direction: str = "next") -> list[list[str]]:
    """The emails of every page, following `direction` links until there are none."""
    pages: list[list[str]] = []
    while url:
        body = client.get(url.split(world.a.domain, 1)[-1]).json()
        pages.append([row["email"] for row in body["data"]])
        url = body[direction]
    return pages


@pytest.mark.parametrize("ordering", [None, "email", "-email"])
def test_pages_are_the_orms_forward_and_back(
    world: World, locations: list[Location], api: Any, ordering: str | None
) -> None:
    client = _client(world, api)
    for location in locations:
        orm = MirrorContact.objects.for_location(location).order_by(ordering or "-pk")
        expected = [contact.email for contact in orm]
        query = "page_size=3" + (f"&ordering={ordering}" if ordering else "")
        forward = _walk(client, world, f"/api/v1/locations/{location.pk}/contacts/?{query}")
        assert [email for page in forward for email in page] == expected
        assert [len(page) for page in forward] == [3, 3, 1]
        # From the last page back to the first through the `previous` links.
        last = f"/api/v1/locations/{location.pk}/contacts/?{query}"
        for _ in range(2):
            last = client.get(last.split(world.a.domain, 1)[-1]).json()["next"]
        backward = _walk(client, world, last, direction="previous")
        assert backward == list(reversed(forward))


def test_a_shape_is_composed_once_and_serves_every_location(
    world: World, locations: list[Location], api: Any
) -> None:
    client = _client(world, api)
    first, second = locations
    for location in locations:  # the key's first use is stamped, the locations looked up
        client.get(f"/api/v1/locations/{location.pk}/contacts/")
    statements.clear()
    client.get(f"/api/v1/locations/{first.pk}/contacts/?page_size=2")
    assert len(statements._entries) == 1
    with CaptureQueriesContext(connection) as captured:
        rows = client.get(f"/api/v1/locations/{second.pk}/contacts/?page_size=2").json()["data"]
    assert len(statements._entries) == 1  # the same shape: nothing composed again
    assert len(captured) == 1 and str(second.pk) in captured[0]["sql"]
    # The reused statement took this request's location: its rows, none of the other's.
    assert [row["email"] for row in rows] == [f"{second.pk}g@x.test", f"{second.pk}f@x.test"]
    client.get(f"/api/v1/locations/{second.pk}/contacts/?page_size=3")
    assert len(statements._entries) == 2  # another page size is another shape


def test_a_filter_is_part_of_the_shape_and_its_value_is_not(
    world: World, locations: list[Location], api: Any
) -> None:
    client = _client(world, api)
    url = f"/api/v1/locations/{locations[0].pk}/contacts/"
    found = {}
    for term in ("a@", "b@", "zz"):
        found[term] = [row["email"] for row in client.get(url, {"search": term}).json()["data"]]
    tagged = client.get(url, {"tag": "none-such"}).json()["data"]
    assert found == {
        "a@": [f"{locations[0].pk}a@x.test"],
        "b@": [f"{locations[0].pk}b@x.test"],
        "zz": [],
    }
    assert tagged == []
    assert len(statements._entries) == 2  # one search shape, one tag shape


def test_what_the_shape_cannot_describe_goes_through_the_orm(
    world: World, locations: list[Location]
) -> None:
    plan = json_rows(ContactSerializer)
    location = locations[0]
    for queryset in (
        MirrorContact.objects.for_location(location).distinct(),
        MirrorContact.objects.for_location(location).filter(pk__in=[]),
    ):
        page = PreparedPage(
            queryset, key="pk", alias=ROW_ALIAS, row=plan.row(["email"]), row_shape="email"
        )
        rows = list(page.order_by("-pk")[:3])
        expected = [
            {"pk": c.pk, ROW_ALIAS: f'{{"email" : "{c.email}"}}'}
            for c in queryset.order_by("-pk")[:3]
        ]
        assert rows == expected
    assert statements._entries == {}


def test_an_unscoped_queryset_is_refused(locations: list[Location]) -> None:
    plan = json_rows(ContactSerializer)
    page = PreparedPage(
        MirrorContact.objects.all(), key="pk", alias=ROW_ALIAS, row=plan.row(["id"]), row_shape=1
    )
    with pytest.raises(UnscopedQueryError):
        list(page.order_by("-pk")[:3])


def test_a_made_up_cursor_position_is_a_clear_404(
    world: World, locations: list[Location], api: Any
) -> None:
    client = _client(world, api)
    forged = base64.b64encode(b"p=not-a-number").decode()
    url = f"/api/v1/locations/{locations[0].pk}/contacts/"
    response = client.get(url, {"cursor": forged})
    assert response.status_code == 404
    assert "cursor" in error_of(response)["message"].lower()
