"""Isolation cases of the REST API (/api/v1/): each route called with agency A's key and agency
B's ids (404, the same as a missing id), with B's key on A's domain (401) and with no key (401).
Merged into the matrix by tests/isolation.py."""

from __future__ import annotations

from typing import Any

from django.test import Client

from tenants.api.keys import api_key_create
from tenants.models import AuditLogEntry
from tests import factories
from tests.isolation import Check, Visitors, _shows_nothing_of_b

ALL_SCOPES = ["locations:read", "contacts:write", "audit_log:read"]


class Keys:
    def __init__(self, v: Visitors) -> None:
        world = v.world
        self.world = world
        self.a = api_key_create(
            agency=world.a.agency, name="A", scopes=ALL_SCOPES, acting_user=None
        ).secret
        self.a_location = api_key_create(
            agency=world.a.agency,
            location=world.a.locations[0],
            name="A1",
            scopes=ALL_SCOPES,
            acting_user=None,
        ).secret
        self.b = api_key_create(
            agency=world.b.agency, name="B", scopes=ALL_SCOPES, acting_user=None
        ).secret

    def on_a(self, raw: str | None) -> Client:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"} if raw else {}
        return Client(HTTP_HOST=self.world.a.domain, **headers)


def _refuses_strangers(keys: Keys, url: str) -> None:
    for raw in (keys.b, None, "ak_000000000000.forged"):
        response = keys.on_a(raw).get(url)
        assert response.status_code == 401, (url, response.status_code)
        assert set(response.json()) == {"error"}


def _location_list(v: Visitors) -> None:
    keys = Keys(v)
    response = keys.on_a(keys.a).get("/api/v1/locations/")
    assert response.status_code == 200
    assert {row["name"] for row in response.json()["data"]} == {"A Location 1", "A Location 2"}
    assert keys.on_a(keys.a_location).get("/api/v1/locations/").status_code == 403
    _refuses_strangers(keys, "/api/v1/locations/")


def _location_detail(v: Visitors) -> None:
    keys = Keys(v)
    own, foreign = v.world.a.locations[0], v.world.b.locations[0]
    assert keys.on_a(keys.a).get(f"/api/v1/locations/{own.pk}/").status_code == 200
    assert keys.on_a(keys.a).get(f"/api/v1/locations/{foreign.pk}/").status_code == 404
    _refuses_strangers(keys, f"/api/v1/locations/{own.pk}/")


def _contact_list(v: Visitors) -> None:
    keys = Keys(v)
    own, sibling = v.world.a.locations
    foreign = v.world.b.locations[0]
    factories.MirrorContactFactory(location=foreign, first_name="B", last_name="Location Lead")
    mine = factories.MirrorContactFactory(location=own)
    url = "/api/v1/locations/{}/contacts/"
    response = keys.on_a(keys.a).get(url.format(own.pk))
    assert [row["id"] for row in response.json()["data"]] == [mine.ghl_id]
    _shows_nothing_of_b(response, v.world)
    assert keys.on_a(keys.a).get(url.format(foreign.pk)).status_code == 404
    assert keys.on_a(keys.a_location).get(url.format(sibling.pk)).status_code == 404
    created = keys.on_a(keys.a).post(
        url.format(foreign.pk), {"email": "x@y.test"}, content_type="application/json"
    )
    assert created.status_code == 404
    _refuses_strangers(keys, url.format(own.pk))


def _contact_detail(v: Visitors) -> None:
    keys = Keys(v)
    own = v.world.a.locations[0]
    foreign = v.world.b.locations[0]
    theirs = factories.MirrorContactFactory(location=foreign)
    mine = factories.MirrorContactFactory(location=own)
    client = keys.on_a(keys.a)
    assert client.get(f"/api/v1/locations/{own.pk}/contacts/{mine.ghl_id}/").status_code == 200
    for url in (
        f"/api/v1/locations/{own.pk}/contacts/{theirs.ghl_id}/",
        f"/api/v1/locations/{foreign.pk}/contacts/{theirs.ghl_id}/",
    ):
        assert client.get(url).status_code == 404
        assert client.delete(url).status_code == 404
        body: Any = '{"first_name": "Mallory"}'
        assert client.patch(url, body, content_type="application/json").status_code == 404
    _refuses_strangers(keys, f"/api/v1/locations/{own.pk}/contacts/{mine.ghl_id}/")


def _audit_list(v: Visitors) -> None:
    keys = Keys(v)
    foreign = v.world.b.locations[0]
    response = keys.on_a(keys.a).get("/api/v1/audit-log/", {"page_size": 200})
    assert response.status_code == 200
    agencies = {
        entry.agency_id
        for entry in AuditLogEntry.objects.unscoped().filter(
            pk__in=[row["id"] for row in response.json()["data"]]
        )
    }
    assert agencies == {v.world.a.agency.pk}
    response = keys.on_a(keys.a).get("/api/v1/audit-log/", {"location": foreign.pk})
    assert response.status_code == 404
    _refuses_strangers(keys, "/api/v1/audit-log/")


def _audit_detail(v: Visitors) -> None:
    keys = Keys(v)
    theirs = AuditLogEntry.objects.for_agency(v.world.b.agency).first()
    mine = AuditLogEntry.objects.for_agency(v.world.a.agency).first()
    assert theirs is not None and mine is not None
    assert keys.on_a(keys.a).get(f"/api/v1/audit-log/{mine.pk}/").status_code == 200
    assert keys.on_a(keys.a).get(f"/api/v1/audit-log/{theirs.pk}/").status_code == 404
    _refuses_strangers(keys, f"/api/v1/audit-log/{mine.pk}/")


def _public_reference(url: str) -> Check:
    """The reference is public (no tenant data in it), branded with the domain's agency."""

    def check(v: Visitors) -> None:
        response = v.on_a().get(url)
        assert response.status_code == 200
        _shows_nothing_of_b(response, v.world)
        assert v.on_platform().get(url).status_code == 404

    return check


def _unknown_api_path(v: Visitors) -> None:
    keys = Keys(v)
    response = keys.on_a(keys.a).get("/api/v1/no-such-thing/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


API_CASES: dict[str, Check] = {
    "api/v1/schema/": _public_reference("/api/v1/schema/"),
    "api/v1/docs/": _public_reference("/api/v1/docs/"),
    "api/v1/redoc/": _public_reference("/api/v1/redoc/"),
    "api/v1/locations/": _location_list,
    "api/v1/locations/<int:pk>/": _location_detail,
    "api/v1/locations/<int:location_id>/contacts/": _contact_list,
    "api/v1/locations/<int:location_id>/contacts/<str:contact_id>/": _contact_detail,
    "api/v1/audit-log/": _audit_list,
    "api/v1/audit-log/<int:pk>/": _audit_detail,
    r"api/v1/^[\s\S]*$": _unknown_api_path,
}


def foreign_api_key(world: Any) -> Any:
    return api_key_create(
        agency=world.b.agency, name="B Location key", scopes=ALL_SCOPES, acting_user=None
    ).key


def _portal_key_revoke(v: Visitors) -> None:
    """Only the business's admins (and the agency's) revoke, and only the business's own keys."""
    own, sibling = v.world.a.locations
    mine = api_key_create(
        agency=v.world.a.agency, location=own, name="A1", scopes=ALL_SCOPES, acting_user=None
    ).key
    theirs = api_key_create(
        agency=v.world.b.agency,
        location=v.world.b.locations[0],
        name="B",
        scopes=ALL_SCOPES,
        acting_user=None,
    ).key
    url = "/app/l/{}/api-keys/{}/revoke/"
    admin = v.on_a(v.world.a.client_admin)
    assert admin.post(url.format(own.pk, theirs.pk)).status_code == 404
    assert admin.post(url.format(v.world.b.locations[0].pk, theirs.pk)).status_code == 404
    assert admin.post(url.format(sibling.pk, mine.pk)).status_code == 404
    assert v.on_a(v.world.a.client_member).post(url.format(sibling.pk, mine.pk)).status_code == 403
    assert admin.get(url.format(own.pk, mine.pk)).status_code == 405
    from tests.isolation import _redirects_to_login

    _redirects_to_login(v.on_a().post(url.format(own.pk, mine.pk)), "/accounts/login/")
    _redirects_to_login(v.b_session_on_a().post(url.format(own.pk, mine.pk)), "/accounts/login/")
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert theirs.revoked_at is None and mine.revoked_at is None
    assert admin.post(url.format(own.pk, mine.pk)).status_code == 302
    mine.refresh_from_db()
    assert mine.revoked_at is not None


def _portal_keys_page(v: Visitors) -> None:
    from tests.isolation import workspace_page

    workspace_page("api-keys/", access="admin")(v)


API_CASES["app/l/<int:location_id>/api-keys/"] = _portal_keys_page
API_CASES["app/l/<int:location_id>/api-keys/<int:key_id>/revoke/"] = _portal_key_revoke
