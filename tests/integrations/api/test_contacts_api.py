"""Contacts over the API on a location connected to the GHL stand-in: reads from the mirror,
writes through to GHL (the stand-in sees them) and mirrored on success; on a GHL failure
nothing local changes and the envelope says why."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from django.db import connections
from django.test import Client

from integrations.mirror.models import MirrorContact, MirrorUser
from sandbox.ghl.testing import StandIn
from tenants import selectors
from tenants.models import AuditLogEntry, Location
from tests import factories
from tests.api.conftest import error_of
from tests.integrations.conftest import DUBAI

pytestmark = pytest.mark.django_db


def in_ghl(ghl: StandIn, contact_id: str) -> dict[str, Any] | None:
    token = ghl.mint_token(location_id=DUBAI)["access_token"]
    path = f"/contacts/{contact_id}"
    response = httpx.get(ghl.base_url + path, headers=ghl.api_headers(token, path), timeout=30)
    if response.status_code in (400, 404):
        return None
    response.raise_for_status()
    contact: dict[str, Any] = response.json()["contact"]
    return contact


class Api:
    def __init__(self, location: Location, scopes: list[str] | None = None) -> None:
        key = factories.ApiKeyFactory(
            agency=location.agency, location=location, scopes=scopes or ["contacts:write"]
        )
        self.key = key
        self.base = f"/api/v1/locations/{location.pk}/contacts/"
        self.client = Client(
            HTTP_HOST=selectors.agency_primary_domain(location.agency),
            HTTP_AUTHORIZATION=f"Bearer {key.raw_key}",
        )

    def send(self, method: str, path: str = "", body: Any = None, **extra: Any) -> Any:
        call = getattr(self.client, method)
        if body is None:
            return call(self.base + path, **extra)
        return call(self.base + path, json.dumps(body), content_type="application/json", **extra)


def test_list_search_and_get_read_the_mirror(dubai: Location) -> None:
    api = Api(dubai, ["contacts:read"])
    mirrored = MirrorContact.objects.for_location(dubai).exclude(email="").order_by("pk").first()
    assert mirrored is not None
    page = api.send("get", "?page_size=5").json()
    assert len(page["data"]) == 5 and page["next"]
    found = api.send("get", f"?search={mirrored.email.upper()}").json()["data"]
    assert mirrored.ghl_id in [row["id"] for row in found]
    one = api.send("get", f"{mirrored.ghl_id}/").json()
    assert one["id"] == mirrored.ghl_id and one["email"] == mirrored.email
    assert "custom_fields" not in one and "location" not in one


def test_create_reaches_ghl_then_the_mirror(dubai: Location, ghl: StandIn) -> None:
    api = Api(dubai)
    body = {"first_name": "Maya", "email": "maya.api@example.test", "tags": ["api"]}
    response = api.send("post", body=body)
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["email"] == "maya.api@example.test" and created["tags"] == ["api"]
    remote = in_ghl(ghl, created["id"])
    assert remote is not None and remote["email"] == "maya.api@example.test"
    assert MirrorContact.objects.for_location(dubai).filter(ghl_id=created["id"]).exists()
    entry = AuditLogEntry.objects.for_agency(dubai.agency).get(action="contact.created")
    assert entry.changes["api_key"] == [None, api.key.prefix]
    assert "maya" not in json.dumps(entry.changes)


def test_update_and_delete_write_through(dubai: Location, ghl: StandIn) -> None:
    api = Api(dubai)
    contact = MirrorContact.objects.for_location(dubai).order_by("pk").first()
    assert contact is not None
    response = api.send("patch", f"{contact.ghl_id}/", {"last_name": "Renamed"})
    assert response.status_code == 200, response.content
    assert response.json()["last_name"] == "Renamed"
    assert (in_ghl(ghl, contact.ghl_id) or {}).get("lastName") == "Renamed"
    contact.refresh_from_db()
    assert contact.last_name == "Renamed"
    assert api.send("delete", f"{contact.ghl_id}/").status_code == 204
    assert in_ghl(ghl, contact.ghl_id) is None
    assert not MirrorContact.objects.for_location(dubai).filter(ghl_id=contact.ghl_id).exists()
    assert api.send("get", f"{contact.ghl_id}/").status_code == 404


def test_a_ghl_failure_changes_nothing_here(dubai: Location, ghl: StandIn) -> None:
    api = Api(dubai)
    contact = MirrorContact.objects.for_location(dubai).order_by("pk").first()
    assert contact is not None
    before = MirrorContact.objects.for_location(dubai).count()
    ghl.set_faults(DUBAI, error_rate=1.0, error_status=503, methods=["POST", "PUT", "DELETE"])
    created = api.send("post", body={"email": "nobody@example.test"})
    assert created.status_code == 502
    assert error_of(created)["code"] == "upstream_error"
    assert "nothing was changed" in error_of(created)["message"]
    updated = api.send("patch", f"{contact.ghl_id}/", {"last_name": "Never"})
    assert updated.status_code == 502
    assert api.send("delete", f"{contact.ghl_id}/").status_code == 502
    contact.refresh_from_db()
    assert contact.last_name != "Never"
    assert MirrorContact.objects.for_location(dubai).count() == before
    assert not AuditLogEntry.objects.for_agency(dubai.agency).filter(action__startswith="contact.")


def test_assigned_to_must_be_a_user_of_the_location(dubai: Location, ghl: StandIn) -> None:
    api = Api(dubai)
    other = factories.LocationFactory(agency=dubai.agency)
    stranger = factories.MirrorUserFactory(location=other)
    response = api.send("post", body={"email": "a@example.test", "assigned_to": stranger.ghl_id})
    assert response.status_code == 404
    assert error_of(response)["details"] == {"assigned_to": ["Not a user of this location."]}
    agent = MirrorUser.objects.for_location(dubai).first()
    assert agent is not None
    ok = api.send("post", body={"email": "b@example.test", "assigned_to": agent.ghl_id})
    assert ok.status_code == 201 and ok.json()["assigned_to"] == agent.ghl_id


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_idempotency_key_create_one_contact(
    dubai: Location, ghl: StandIn
) -> None:
    api = Api(dubai)
    email = f"once-{uuid.uuid4().hex[:8]}@example.test"

    def attempt(_: int) -> int:
        try:
            response = api.send("post", body={"email": email}, HTTP_IDEMPOTENCY_KEY="signup-1")
            return int(response.status_code)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(attempt, range(8)))
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}
    # Every contact GHL creates is mirrored from its answer: one row means one create.
    assert MirrorContact.objects.for_location(dubai).filter(email=email).count() == 1
    replay = api.send("post", body={"email": email}, HTTP_IDEMPOTENCY_KEY="signup-1")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
