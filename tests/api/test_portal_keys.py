"""The portal's API keys page: the business's admins create (shown once), list and revoke."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from tenants.models import ApiKey
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db

SECRET = re.compile(r'value="(ak_[0-9a-f]{12}\.[A-Za-z0-9_-]{40,})"')


def page(world: World) -> str:
    return f"/app/l/{world.a.locations[0].pk}/api-keys/"


def test_empty_state_and_navigation(world: World, agency_client: Any) -> None:
    response = agency_client(world.a, world.a.client_admin).get(page(world))
    text = response.content.decode()
    assert response.status_code == 200
    assert "No keys yet" in text and 'aria-current="page">API keys<' in text
    assert "Locations: read" not in text  # agency-wide permissions are not offered here


def test_create_shows_the_key_once_and_scopes_it_to_the_business(
    world: World, agency_client: Any
) -> None:
    client = agency_client(world.a, world.a.client_admin)
    response = client.post(
        page(world), {"name": "Website forms", "scopes": ["contacts:write"], "expires_in": "90"}
    )
    text = response.content.decode()
    assert response.status_code == 200 and "shown only this once" in text
    match = SECRET.search(text)
    assert match is not None
    key = ApiKey.objects.for_agency(world.a.agency).get()
    assert key.location == world.a.locations[0] and key.scopes == ["contacts:write"]
    assert key.created_by == world.a.client_admin and key.expires_at is not None
    again = client.get(page(world)).content.decode()
    assert key.prefix in again and match.group(1) not in again and "Never" in again
    api = Client(HTTP_HOST=world.a.domain, HTTP_AUTHORIZATION=f"Bearer {match.group(1)}")
    url = f"/api/v1/locations/{world.a.locations[0].pk}/contacts/"
    assert api.get(url).status_code == 200
    assert api.get(f"/api/v1/locations/{world.a.locations[1].pk}/contacts/").status_code == 404


def test_validation_messages(world: World, agency_client: Any) -> None:
    client = agency_client(world.a, world.a.client_admin)
    response = client.post(page(world), {"name": "", "scopes": ["locations:read"]})
    text = response.content.decode()
    assert "This field is required." in text and "Select a valid choice" in text
    assert not ApiKey.objects.for_agency(world.a.agency).exists()


def test_revoke(world: World, agency_client: Any) -> None:
    key = factories.ApiKeyFactory(
        agency=world.a.agency, location=world.a.locations[0], scopes=["contacts:read"]
    )
    client = agency_client(world.a, world.a.client_admin)
    response = client.post(f"{page(world)}{key.pk}/revoke/", follow=True)
    assert "no longer works" in response.content.decode()
    assert "Revoked" in response.content.decode()
    api = Client(HTTP_HOST=world.a.domain, HTTP_AUTHORIZATION=f"Bearer {key.raw_key}")
    assert api.get(f"/api/v1/locations/{world.a.locations[0].pk}/contacts/").status_code == 401
