"""Every failure of the API answers in one envelope: {"error": {"code", "message", "details"?}}."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from saas_platform.kernel.api.errors import api_exception_handler
from tenants.api.viewsets import ApiTenant
from tests.api.conftest import error_of
from tests.conftest import World

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(world: World, make_key: Any) -> Any:
    return make_key(world.a.agency)


def contacts_url(world: World, index: int = 0) -> str:
    return f"/api/v1/locations/{world.a.locations[index].pk}/contacts/"


def test_404_for_a_missing_object(world: World, key: Any, api: Any) -> None:
    response = api(key).get("/api/v1/locations/987654321/")
    assert response.status_code == 404
    assert error_of(response) == {"code": "not_found", "message": "Not found."}


def test_404_for_a_path_no_route_matches(world: World, key: Any, api: Any) -> None:
    for path in ("/api/v1/nothing-here/", "/api/v1/locations/abc/", "/api/v1/"):
        response = api(key).get(path)
        assert response.status_code == 404, path
        assert error_of(response)["code"] == "not_found"


def test_405_for_a_method_the_resource_lacks(world: World, key: Any, api: Any) -> None:
    response = api(key).post("/api/v1/locations/", {})
    assert response.status_code == 405
    error = error_of(response)
    assert error["code"] == "method_not_allowed" and "POST" in error["message"]


def test_415_for_a_body_that_is_not_json(world: World, key: Any, api: Any) -> None:
    client = api(key)
    response = client.client.post(
        contacts_url(world), "email=a@b.test", content_type="text/plain", **client.headers
    )
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


def test_400_for_malformed_json(world: World, key: Any, api: Any) -> None:
    response = api(key).post(contacts_url(world), b"{not json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "parse_error"


def test_413_for_a_body_over_the_limit(world: World, key: Any, api: Any, settings: Any) -> None:
    settings.API_MAX_BODY_BYTES = 1000
    response = api(key).post(contacts_url(world), {"first_name": "x" * 2000})
    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "payload_too_large" and "1000" in error["message"]


def test_400_names_the_invalid_fields(world: World, key: Any, api: Any) -> None:
    response = api(key).post(contacts_url(world), {"email": "not-an-email", "owner": "x"})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert set(error["details"]) == {"owner"}  # unknown fields are refused before the rest
    response = api(key).post(contacts_url(world), {"email": "not-an-email"})
    assert set(error_of(response)["details"]) == {"email"}


def test_400_for_an_unknown_query_parameter(world: World, key: Any, api: Any) -> None:
    response = api(key).get("/api/v1/locations/", {"colour": "red"})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "unknown_parameter" and "colour" in error["message"]


def test_401_and_403_are_enveloped(world: World, make_key: Any, api: Any) -> None:
    assert error_of(Client(HTTP_HOST=world.a.domain).get("/api/v1/locations/"))["code"] == (
        "not_authenticated"
    )
    read_only = make_key(world.a.agency, scopes=["audit_log:read"])
    assert error_of(api(read_only).get("/api/v1/locations/"))["code"] == "insufficient_scope"


def test_429_with_retry_after(world: World, make_key: Any, api: Any) -> None:
    key = make_key(world.a.agency, rate_limit_per_minute=2)
    client = api(key)
    first = client.get("/api/v1/locations/")
    assert first["RateLimit-Limit"] == "2" and first["RateLimit-Remaining"] == "1"
    assert client.get("/api/v1/locations/")["RateLimit-Remaining"] == "0"
    refused = client.get("/api/v1/locations/")
    assert refused.status_code == 429
    assert error_of(refused)["code"] == "throttled"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["RateLimit-Remaining"] == "0"


def test_500_is_enveloped_and_logged(
    world: World, key: Any, api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: ApiTenant) -> Any:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(ApiTenant, "locations", broken)
    response = api(key).get("/api/v1/locations/")
    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "server_error" and "fire" not in error["message"]


def test_the_handler_answers_anything() -> None:
    response = api_exception_handler(KeyError("x"), {})
    assert response.status_code == 500 and response.data["error"]["code"] == "server_error"


def test_sparse_fields(world: World, key: Any, api: Any) -> None:
    response = api(key).get("/api/v1/locations/", {"fields": "id,name"})
    assert [set(row) for row in response.json()["data"]] == [{"id", "name"}] * 2
    detail = api(key).get(f"/api/v1/locations/{world.a.locations[0].pk}/", {"fields": "name"})
    assert detail.json() == {"name": "A Location 1"}
    bad = api(key).get("/api/v1/locations/", {"fields": "id,secret_hash"})
    assert bad.status_code == 400 and "fields" in error_of(bad)["details"]


def test_cursor_pagination_walks_every_row_once(world: World, key: Any, api: Any) -> None:
    from tests import factories

    for i in range(5):
        factories.LocationFactory(agency=world.a.agency, name=f"A Extra {i}")
    seen: list[str] = []
    url: str | None = "/api/v1/locations/?page_size=3&ordering=-name"
    while url:
        page = api(key).get(url.replace("http://testserver", "")).json()
        seen += [row["name"] for row in page["data"]]
        url = page["next"]
        if url:
            url = url.split(world.a.domain, 1)[1]
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == 7


def test_ordering_and_page_size_are_checked(world: World, key: Any, api: Any) -> None:
    assert api(key).get("/api/v1/locations/", {"ordering": "secret"}).status_code == 400
    assert api(key).get("/api/v1/locations/", {"page_size": "0"}).status_code == 400
    assert api(key).get("/api/v1/locations/", {"page_size": "201"}).status_code == 400


def test_a_made_up_cursor_position_is_a_404_not_a_500(
    world: World, make_key: Any, api: Any
) -> None:
    import base64

    reader = api(make_key(world.a.agency, scopes=["audit_log:read"]))
    for position in (b"p=not-a-date", b"p=2026-13-45T99:00:00Z", b"p="):
        forged = base64.b64encode(position).decode()
        response = reader.get("/api/v1/audit-log/", {"cursor": forged})
        assert response.status_code == 404, (position, response.content)
        assert error_of(response)["message"] == "Invalid cursor"
    fitting = base64.b64encode(b"p=2026-01-01T00%3A00%3A00%2B00%3A00").decode()  # as DRF writes
    assert reader.get("/api/v1/audit-log/", {"cursor": fitting}).status_code == 200
