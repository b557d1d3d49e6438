"""API keys: authentication (401 in the envelope), scopes (403), rotation, last-used stamps."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from saas_platform.kernel.errors import ApplicationError
from tenants.api.keys import api_key_revoke, api_key_rotate
from tenants.models import ApiKey, AuditLogEntry
from tests.api.conftest import error_of
from tests.conftest import World

pytestmark = pytest.mark.django_db

LOCATIONS = "/api/v1/locations/"
SHORT = 0.2  # seconds the tenant lookups are kept in the tests of their expiry


def test_a_valid_key_lists_its_agencys_locations(world: World, make_key: Any, api: Any) -> None:
    key = make_key(world.a.agency)
    response = api(key).get(LOCATIONS)
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "private, no-store"
    names = [row["name"] for row in response.json()["data"]]
    assert names == ["A Location 1", "A Location 2"]
    assert set(response.json()["data"][0]) == {
        "id", "name", "industry", "timezone", "status", "created_at", "updated_at",
    }  # fmt: skip


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer ak_000000000000.not-a-real-secret",
        "Basic dXNlcjpwYXNz",
        "Bearer garbage",
        "Bearer a b",
    ],
)
def test_missing_or_garbage_keys_are_401(world: World, header: str | None) -> None:
    from django.test import Client

    client = Client(HTTP_HOST=world.a.domain)
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get(LOCATIONS, **extra)
    assert response.status_code == 401
    assert error_of(response)["code"] in ("not_authenticated", "invalid_api_key")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_right_prefix_with_a_wrong_secret_is_401(world: World, make_key: Any, api: Any) -> None:
    key = make_key(world.a.agency)
    secret = key.raw_key.split(".", 1)[1]
    forged = f"{key.prefix}.{'A' if secret[0] != 'A' else 'B'}{secret[1:]}"
    assert api(key, raw=forged).get(LOCATIONS).status_code == 401


def test_revocation_takes_effect_on_the_next_request(world: World, make_key: Any, api: Any) -> None:
    key = make_key(world.a.agency)
    client = api(key)
    assert client.get(LOCATIONS).status_code == 200
    api_key_revoke(key=key, acting_user=world.a.owner)
    response = client.get(LOCATIONS)
    assert response.status_code == 401
    assert error_of(response)["code"] == "invalid_api_key"
    assert AuditLogEntry.objects.for_agency(world.a.agency).filter(action="api_key.revoked")


def test_a_revocation_made_elsewhere_lands_within_the_cache_age(
    world: World, make_key: Any, api: Any, settings: Any
) -> None:
    """Another process (or a bulk UPDATE) revokes: no signal reaches this process's cache,
    whose row is at most TENANT_CACHE_SECONDS old (one second in production)."""
    settings.TENANT_CACHE_SECONDS = SHORT
    key = make_key(world.a.agency)
    client = api(key)
    assert client.get(LOCATIONS).status_code == 200
    ApiKey.objects.for_agency(world.a.agency).filter(pk=key.pk).update(revoked_at=timezone.now())
    time.sleep(SHORT)
    assert error_of(client.get(LOCATIONS))["code"] == "invalid_api_key"


def test_an_expired_key_is_401(world: World, make_key: Any, api: Any) -> None:
    key = make_key(world.a.agency)
    ApiKey.objects.for_agency(world.a.agency).filter(pk=key.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert error_of(api(key).get(LOCATIONS))["code"] == "invalid_api_key"


def test_a_key_is_only_valid_on_its_own_agencys_domain(
    world: World, make_key: Any, api: Any
) -> None:
    key_of_b = make_key(world.b.agency)
    response = api(key_of_b, agency=world.a.agency).get(LOCATIONS)
    assert response.status_code == 401


def test_a_read_only_key_cannot_write(world: World, make_key: Any, api: Any) -> None:
    key = make_key(world.a.agency, scopes=["contacts:read"], location=world.a.locations[0])
    location = world.a.locations[0]
    response = api(key).post(f"/api/v1/locations/{location.pk}/contacts/", {"email": "x@y.test"})
    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "insufficient_scope" and "contacts:write" in error["message"]


def test_a_key_without_the_resource_scope_is_403(world: World, make_key: Any, api: Any) -> None:
    key = make_key(world.a.agency, scopes=["contacts:read"])
    assert error_of(api(key).get(LOCATIONS))["code"] == "insufficient_scope"


def test_location_keys_cannot_list_the_agencys_locations(
    world: World, make_key: Any, api: Any
) -> None:
    key = make_key(world.a.agency, location=world.a.locations[0], scopes=["locations:read"])
    response = api(key).get(LOCATIONS)
    assert response.status_code == 403
    assert "agency-wide" in error_of(response)["message"]


def test_rotation_keeps_the_old_key_valid_until_the_overlap_ends(
    world: World, make_key: Any, api: Any, settings: Any
) -> None:
    settings.TENANT_CACHE_SECONDS = SHORT
    old = make_key(world.a.agency)
    issued = api_key_rotate(key=old, acting_user=world.a.owner, overlap=timedelta(hours=1))
    old.refresh_from_db()
    assert old.replaced_by == issued.key and old.expires_at is not None
    assert timedelta(minutes=59) < old.expires_at - timezone.now() <= timedelta(hours=1)
    assert issued.key.scopes == old.scopes and issued.key.location == old.location
    assert api(old).get(LOCATIONS).status_code == 200
    assert api(issued.key, raw=issued.secret).get(LOCATIONS).status_code == 200
    ApiKey.objects.for_agency(world.a.agency).filter(pk=old.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    time.sleep(SHORT)  # a plain UPDATE: the process's cached row ages out first
    assert api(old).get(LOCATIONS).status_code == 401
    assert api(issued.key, raw=issued.secret).get(LOCATIONS).status_code == 200
    with pytest.raises(ApplicationError):
        api_key_rotate(key=old, acting_user=None)


def test_only_the_digest_is_stored(world: World, make_key: Any) -> None:
    key = make_key(world.a.agency)
    stored = ApiKey.objects.for_agency(world.a.agency).get(pk=key.pk)
    secret = key.raw_key.split(".", 1)[1]
    assert secret not in stored.secret_hash and key.raw_key.startswith(stored.prefix + ".")
    assert len(stored.secret_hash) == 64


def test_last_used_is_written_at_most_once_a_minute(
    world: World, make_key: Any, api: Any, django_assert_num_queries: Any, settings: Any
) -> None:
    settings.TENANT_CACHE_SECONDS = SHORT
    key = make_key(world.a.agency)
    client = api(key)
    client.get(LOCATIONS)
    first = ApiKey.objects.for_agency(world.a.agency).get(pk=key.pk).last_used_at
    assert first is not None
    client.get(LOCATIONS)
    assert ApiKey.objects.for_agency(world.a.agency).get(pk=key.pk).last_used_at == first
    ApiKey.objects.for_agency(world.a.agency).filter(pk=key.pk).update(
        last_used_at=first - timedelta(minutes=2)
    )
    time.sleep(SHORT)  # the cached row and this process's own stamp age out
    client.get(LOCATIONS)
    assert ApiKey.objects.for_agency(world.a.agency).get(pk=key.pk).last_used_at > first
