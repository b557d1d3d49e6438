"""Ids from the path, the query and the body are resolved within the key's tenant; the base
viewset refuses to be built or run unscoped; hostile input is a 4xx, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import QuerySet
from django.test import Client

from saas_platform.kernel.errors import UnscopedQueryError
from tenants.api.viewsets import ApiTenant, TenantScopedViewSet
from tenants.models import AuditLogEntry, Location
from tests import factories
from tests.api.conftest import error_of
from tests.conftest import World

pytestmark = pytest.mark.django_db


def test_a_location_key_reaches_only_its_location(world: World, make_key: Any, api: Any) -> None:
    own, sibling = world.a.locations
    key = make_key(world.a.agency, location=own, scopes=["contacts:read", "audit_log:read"])
    mine = factories.MirrorContactFactory(location=own)
    theirs = factories.MirrorContactFactory(location=sibling)
    client = api(key)
    assert client.get(f"/api/v1/locations/{own.pk}/contacts/{mine.ghl_id}/").status_code == 200
    for path in (
        f"/api/v1/locations/{sibling.pk}/contacts/",
        f"/api/v1/locations/{sibling.pk}/contacts/{theirs.ghl_id}/",
        f"/api/v1/locations/{own.pk}/contacts/{theirs.ghl_id}/",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert error_of(response) == {"code": "not_found", "message": "Not found."}


def test_the_audit_log_of_a_location_key(world: World, make_key: Any, api: Any) -> None:
    own, sibling = world.a.locations
    for location in (own, sibling):
        AuditLogEntry.objects.create(
            agency=world.a.agency,
            location=location,
            action="location.updated",
            target_type="tenants.location",
            target_id=str(location.pk),
            target_repr=location.name,
        )
    key = make_key(world.a.agency, location=own, scopes=["audit_log:read"])
    rows = api(key).get("/api/v1/audit-log/").json()["data"]
    assert {row["location_id"] for row in rows} == {own.pk}
    assert api(key).get("/api/v1/audit-log/", {"location": sibling.pk}).status_code == 404
    agency_key = make_key(world.a.agency, scopes=["audit_log:read"])
    filtered = api(agency_key).get("/api/v1/audit-log/", {"location": sibling.pk}).json()
    assert {row["location_id"] for row in filtered["data"]} == {sibling.pk}


def test_writes_need_no_csrf_token_but_a_key(world: World, make_key: Any) -> None:
    key = make_key(world.a.agency)
    client = Client(
        HTTP_HOST=world.a.domain,
        enforce_csrf_checks=True,
        HTTP_AUTHORIZATION=f"Bearer {key.raw_key}",
    )
    url = f"/api/v1/locations/{world.a.locations[0].pk}/contacts/"
    response = client.post(url, '{"email": "a@b.test"}', content_type="application/json")
    assert error_of(response)["code"] == "location_not_connected"  # got past CSRF to the CRM


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/locations/99999999999999999999999/",
        "/api/v1/locations/{own}/contacts/%00/",
        "/api/v1/locations/{own}/contacts/?cursor=not-a-cursor",
        "/api/v1/locations/{own}/contacts/?search=%00",
        "/api/v1/locations/{own}/contacts/?updated_since=yesterday",
        "/api/v1/audit-log/?location=99999999999999999999",
        "/api/v1/audit-log/?since=2026-01-01T00:00:00",
        "/api/v1/audit-log/?since=2026-01-01T00:00:00%2B99:00",
        "/api/v1/audit-log/?location=%C2%B2",
        "/api/v1/audit-log/?page_size=%C2%B2",
        "/api/v1/locations/{own}/contacts/?fields=",
        "/api/v1/locations/{own}/contacts/?ordering=%00",
    ],
)
def test_hostile_input_is_a_client_error(world: World, make_key: Any, api: Any, path: str) -> None:
    key = make_key(world.a.agency, scopes=["locations:read", "contacts:read", "audit_log:read"])
    response = api(key).get(path.format(own=world.a.locations[0].pk))
    assert 400 <= response.status_code < 500, (path, response.status_code)
    error_of(response)


def test_hostile_bodies_are_400(world: World, make_key: Any, api: Any) -> None:
    key = make_key(world.a.agency)
    url = f"/api/v1/locations/{world.a.locations[0].pk}/contacts/"
    for body in ([], "null", {"email": "a@b.test", "first_name": "x\x00y"}, {"tags": "one"}):
        response = api(key).post(url, body)
        assert response.status_code == 400, body
        assert error_of(response)["code"] == "invalid"


def test_a_resource_cannot_declare_a_queryset() -> None:
    with pytest.raises(TypeError, match="scoped_queryset"):

        class Leaky(TenantScopedViewSet):
            queryset = Location.objects.unscoped()
            resource = "locations"


def test_an_unscoped_queryset_is_refused(world: World, make_key: Any) -> None:
    class Careless(TenantScopedViewSet):
        resource = "locations"

        def scoped_queryset(self, tenant: ApiTenant) -> QuerySet[Any]:
            return Location.objects.all()

    view = Careless()
    view.request = type("R", (), {"auth": make_key(world.a.agency)})()  # type: ignore[assignment]
    with pytest.raises(UnscopedQueryError):
        view.get_queryset()


def test_list_queries_do_not_grow_with_the_page(
    world: World, make_key: Any, api: Any, django_assert_max_num_queries: Any
) -> None:
    location = world.a.locations[0]
    for _ in range(60):
        factories.MirrorContactFactory(location=location)
    key = make_key(world.a.agency, location=location, scopes=["contacts:read"])
    client = api(key)
    url = f"/api/v1/locations/{location.pk}/contacts/"
    client.get(url)  # last_used_at is written on the first call
    counts = []
    for size in (1, 50):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert len(client.get(url, {"page_size": size}).json()["data"]) == size
        counts.append(len(captured))
    assert counts[0] == counts[1] <= 4, counts
