"""The client admin of agency A's first location, signed in on A's domain."""

from __future__ import annotations

import pytest
from django.test import Client

from tenants.models import Location
from tests.conftest import World


@pytest.fixture
def location(world: World) -> Location:
    return world.a.locations[0]


@pytest.fixture
def admin(world: World) -> Client:
    client = Client(HTTP_HOST=world.a.domain)
    client.force_login(world.a.client_admin)
    return client
