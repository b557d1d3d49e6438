"""The contact list's rows, written by PostgreSQL (saas_platform.kernel.api.rows), say exactly
what the serializer says about the same contacts: names, order of keys, types, NULLs, text that
needs escaping, and date-times with and without microseconds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.api.contacts import ContactSerializer
from integrations.mirror.models import MirrorContact
from tenants.models import Location
from tests import factories
from tests.api.conftest import error_of
from tests.conftest import World

pytestmark = pytest.mark.django_db

AWKWARD = [
    {"first_name": 'Zoë "Z" \\ O\'Neil', "tags": ["vip", "λ", ""], "dnd": True},
    {"first_name": "line\nbreak\ttab\x01ctl", "last_name": "\u2028\u2029 end", "tags": []},
    {"email": "", "date_added": None, "ghl_updated_at": None},
    {"date_added": datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC)},  # no microseconds
    {"date_added": datetime(2026, 3, 1, 8, 0, 0, 500, tzinfo=UTC), "company_name": "Acme"},
    {"date_added": datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "country": "AE"},
]


@pytest.fixture
def location(world: World) -> Location:
    location = world.a.locations[0]
    stamp = datetime(2026, 2, 1, 10, 0, 0, 123456, tzinfo=UTC)
    for values in AWKWARD:
        factories.MirrorContactFactory(location=location, **{"ghl_updated_at": stamp, **values})
    return location


def _client(world: World, location: Location, api: Any) -> Any:
    key = factories.ApiKeyFactory(
        agency=world.a.agency, location=location, scopes=["contacts:read"]
    )
    return api(key)


def _serialized(location: Location, ordering: str = "-pk") -> list[dict[str, Any]]:
    contacts = MirrorContact.objects.for_location(location).order_by(ordering)
    data: list[dict[str, Any]] = json.loads(json.dumps(ContactSerializer(contacts, many=True).data))
    return data


def test_rows_equal_the_serializers(world: World, location: Location, api: Any) -> None:
    response = _client(world, location, api).get(
        f"/api/v1/locations/{location.pk}/contacts/", {"page_size": 200}
    )
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["data", "next", "previous"]
    expected = _serialized(location)
    assert body["data"] == expected
    assert [list(row) for row in body["data"]] == [list(row) for row in expected]  # key order
    assert "\u2028" not in response.content.decode()  # written escaped, as DRF does


def test_sparse_fields_ordering_and_the_cursor(world: World, location: Location, api: Any) -> None:
    client = _client(world, location, api)
    url = f"/api/v1/locations/{location.pk}/contacts/"
    seen: list[dict[str, Any]] = []
    page: dict[str, Any] = {"next": f"{url}?page_size=4&ordering=email&fields=updated_at,id"}
    while page["next"]:
        page = client.get(page["next"].split(world.a.domain, 1)[-1]).json()
        seen += page["data"]
    expected = [
        {"id": row["id"], "updated_at": row["updated_at"]} for row in _serialized(location, "email")
    ]
    assert seen == expected and len(seen) == len(AWKWARD)
    bad = client.get(url, {"fields": "id,custom_fields"})
    assert bad.status_code == 400 and "fields" in error_of(bad)["details"]


def test_a_filter_narrows_the_rows(world: World, location: Location, api: Any) -> None:
    rows = (
        _client(world, location, api)
        .get(f"/api/v1/locations/{location.pk}/contacts/", {"tag": "vip"})
        .json()["data"]
    )
    assert [row["first_name"] for row in rows] == ['Zoë "Z" \\ O\'Neil']


def test_in_another_time_zone_the_serializer_answers(
    world: World, location: Location, api: Any
) -> None:
    client = _client(world, location, api)
    with timezone.override("Asia/Dubai"):
        rows = client.get(f"/api/v1/locations/{location.pk}/contacts/").json()["data"]
        assert rows == _serialized(location)
    assert rows[0]["updated_at"] == "2026-02-01T14:00:00.123456+04:00"


def test_the_page_is_one_query_whatever_its_size(
    world: World, location: Location, api: Any
) -> None:
    client = _client(world, location, api)
    url = f"/api/v1/locations/{location.pk}/contacts/"
    client.get(url)  # the key's last use is stamped; the tenant lookups are cached
    counts = []
    for size in (1, 3, 200):
        with CaptureQueriesContext(connection) as captured:
            assert len(client.get(url, {"page_size": size}).json()["data"]) == min(size, 6)
        counts.append([query["sql"] for query in captured])
    assert [len(sqls) for sqls in counts] == [1, 1, 1], counts
    assert "json_build_object" in counts[0][0]
