"""The API's tenant lookups (Host → agency, key, location) are kept in the process for at most
TENANT_CACHE_SECONDS: repeated calls skip them, a change through the models lands at once, a
change made elsewhere within that age; portal pages keep reading the Host every time."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tenants import services
from tenants.models import AgencyDomain
from tests.conftest import World

pytestmark = pytest.mark.django_db

LOCATIONS = "/api/v1/locations/"


def _sql(call: Any) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        call()
    return [query["sql"] for query in captured]


def test_a_repeated_call_runs_only_its_own_query(world: World, make_key: Any, api: Any) -> None:
    client = api(make_key(world.a.agency))
    first = _sql(lambda: client.get(LOCATIONS))
    again = _sql(lambda: client.get(LOCATIONS))
    assert len(first) > len(again) == 1, (first, again)
    assert '"tenants_location"' in again[0] and "tenants_apikey" not in again[0]


def test_a_suspension_through_the_services_lands_at_once(
    world: World, make_key: Any, api: Any
) -> None:
    client = api(make_key(world.a.agency))
    assert client.get(LOCATIONS).status_code == 200
    services.agency_update(agency=world.a.agency, acting_user=None, data={"status": "suspended"})
    assert client.get(LOCATIONS).status_code == 403


def test_a_domain_change_made_elsewhere_lands_within_the_age(
    world: World, make_key: Any, api: Any, settings: Any
) -> None:
    settings.TENANT_CACHE_SECONDS = 0.2
    client = api(make_key(world.a.agency))
    assert client.get(LOCATIONS).status_code == 200
    AgencyDomain.objects.for_agency(world.a.agency).update(verified_at=None)  # no signal
    time.sleep(0.2)
    assert client.get(LOCATIONS).status_code == 404


def test_portal_pages_read_the_host_every_time(world: World) -> None:
    client = Client(HTTP_HOST=world.a.domain)
    client.get("/")
    assert any("tenants_agencydomain" in sql for sql in _sql(lambda: client.get("/")))
