"""Fixtures for the mirror tests: real GHL-shaped records read from the stand-in, and a location
of the test world that stands for the stand-in's Dubai location."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from django.db import connection

from sandbox.ghl.testing import StandIn
from tenants.models import Location
from tests.conftest import World
from tests.integrations.conftest import DUBAI

Record = dict[str, Any]
DAY_MS = 86_400_000


@pytest.fixture(scope="session")
def ghl_samples(ghl_standin_process: StandIn) -> dict[str, list[Record]]:
    """One page of every mirrored kind, as the stand-in's API answers (demo scenario)."""
    ghl = ghl_standin_process
    ghl.reset()
    token = ghl.mint_token(location_id=DUBAI)["access_token"]
    with httpx.Client(base_url=ghl.base_url, timeout=30, trust_env=False) as http:

        def get(path: str, **params: Any) -> Any:
            response = http.get(path, params=params, headers=ghl.api_headers(token, path))
            response.raise_for_status()
            return response.json()

        conversations = get("/conversations/search", locationId=DUBAI, limit=20)["conversations"]
        messages = [
            m
            for c in conversations[:5]
            for m in get(f"/conversations/{c['id']}/messages")["messages"]
        ]
        calendars = get("/calendars/", locationId=DUBAI)["calendars"]
        now = int(time.time() * 1000)
        events = [
            e
            for cal in calendars
            for e in get(
                "/calendars/events",
                locationId=DUBAI,
                calendarId=cal["id"],
                startTime=now - 120 * DAY_MS,
                endTime=now + 120 * DAY_MS,
            )["events"]
        ]
        samples = {
            "contact": get("/contacts/", locationId=DUBAI, limit=50)["contacts"],
            "user": get("/users/", locationId=DUBAI)["users"],
            "pipeline": get("/opportunities/pipelines", locationId=DUBAI)["pipelines"],
            "opportunity": get("/opportunities/search", location_id=DUBAI, limit=50)[
                "opportunities"
            ],
            "appointment": events,
            "conversation": conversations,
            "message": messages,
        }
    ghl.reset()
    assert all(samples.values()), {k: len(v) for k, v in samples.items()}
    return samples


@pytest.fixture
def dubai(world: World) -> Location:
    """`world.a.locations[0]`, connected to the stand-in's Dubai location."""
    location = world.a.locations[0]
    location.ghl_location_id = DUBAI
    location.save(update_fields=["ghl_location_id"])
    return location


Xmin = Callable[[str, int, str], str | None]


@pytest.fixture
def xmin() -> Xmin:
    """`xmin(table, location_id, ghl_id)`: the row version's creating transaction id."""

    def read(table: str, location_id: int, ghl_id: str) -> str | None:
        with connection.cursor() as cursor:
            cursor.execute(
                f'SELECT xmin::text FROM "{table}" WHERE location_id = %s AND ghl_id = %s',  # noqa: S608
                [location_id, ghl_id],
            )
            row = cursor.fetchone()
        return None if row is None else str(row[0])

    return read
