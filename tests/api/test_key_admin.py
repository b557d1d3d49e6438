"""API keys on the agency admin: created with the secret shown once, revoked, rotated."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tenants.models import ApiKey
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db

ADMIN = "/admin/tenants/apikey/"
SECRET = re.compile(r'value="(ak_[0-9a-f]{12}\.[A-Za-z0-9_-]{40,})"')


def test_create_shows_the_key_once_and_it_works(world: World, agency_client: Any) -> None:
    owner = agency_client(world.a, world.a.owner)
    form = owner.get(ADMIN + "add/")
    assert form.status_code == 200 and "B Location" not in form.content.decode()
    response = owner.post(
        ADMIN + "add/",
        {
            "name": "Website",
            "scopes": ["locations:read"],
            "location": "",
            "expires_in": "30",
            "rate_limit_per_minute": "120",
        },
    )
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    match = SECRET.search(response.content.decode())
    assert match is not None
    raw = match.group(1)
    key = ApiKey.objects.for_agency(world.a.agency).get()
    assert key.created_by == world.a.owner and key.expires_at is not None
    assert key.rate_limit_per_minute == 120
    api = Client(HTTP_HOST=world.a.domain, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/locations/").status_code == 200
    listing = owner.get(ADMIN).content.decode()
    assert key.prefix in listing and raw not in listing
    assert raw not in owner.get(f"{ADMIN}{key.pk}/change/").content.decode()


def test_a_foreign_location_cannot_be_chosen(world: World, agency_client: Any) -> None:
    owner = agency_client(world.a, world.a.owner)
    response = owner.post(
        ADMIN + "add/",
        {
            "name": "x",
            "scopes": ["contacts:read"],
            "location": world.b.locations[0].pk,
            "rate_limit_per_minute": "60",
        },
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not ApiKey.objects.for_agency(world.a.agency).exists()


def test_revoke_and_rotate_actions(world: World, agency_client: Any) -> None:
    owner = agency_client(world.a, world.a.owner)
    first = factories.ApiKeyFactory(agency=world.a.agency)
    second = factories.ApiKeyFactory(agency=world.a.agency)
    chosen = {"action": "rotate_keys", "_selected_action": [second.pk]}
    confirm = owner.post(ADMIN, chosen)
    assert "keep working for" in confirm.content.decode()
    second.refresh_from_db()
    assert second.replaced_by is None  # nothing happens before the overlap is chosen
    rotated = owner.post(ADMIN, {**chosen, "overlap_hours": "1"})
    assert rotated.status_code == 200
    new_raw = SECRET.search(rotated.content.decode())
    assert new_raw is not None
    second.refresh_from_db()
    assert second.replaced_by is not None and second.expires_at is not None
    assert second.expires_at - timezone.now() <= timedelta(hours=1)
    owner.post(ADMIN, {"action": "revoke_keys", "_selected_action": [first.pk]})
    first.refresh_from_db()
    assert first.revoked_at is not None
    api = Client(HTTP_HOST=world.a.domain, HTTP_AUTHORIZATION=f"Bearer {first.raw_key}")
    assert api.get("/api/v1/locations/").status_code == 401


def test_agency_staff_may_look_but_not_create(world: World, agency_client: Any) -> None:
    staff = agency_client(world.a, world.a.staff)
    assert staff.get(ADMIN).status_code == 200
    assert staff.get(ADMIN + "add/").status_code == 403


def test_operators_can_revoke_any_agencys_key(world: World, platform_client: Any) -> None:
    key = factories.ApiKeyFactory(agency=world.b.agency)
    operator = platform_client(world.operator)
    listing = operator.get(ADMIN).content.decode()
    assert key.prefix in listing and key.raw_key not in listing
    operator.post(ADMIN, {"action": "revoke_keys", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert operator.get(ADMIN + "add/").status_code == 403
