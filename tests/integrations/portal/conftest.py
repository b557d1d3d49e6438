"""Portal workspace fixtures: a signed-in member of a location installed on the GHL stand-in, and
the client admin of agency A's first location, signed in on A's domain."""

from __future__ import annotations

import pytest
from django.test import Client

from tenants import selectors
from tenants.models import Location, Membership
from tests import factories
from tests.conftest import World


@pytest.fixture
def dubai_member(dubai: Location) -> Client:
    """A client member of the installed Dubai location, signed in on its agency's domain."""
    user = factories.UserFactory(agency=dubai.agency, email="member@dubai.test")
    factories.MembershipFactory(
        user=user, agency=dubai.agency, role=Membership.Role.CLIENT_MEMBER, location=dubai
    )
    client = Client(HTTP_HOST=selectors.agency_primary_domain(dubai.agency))
    client.force_login(user)
    return client


@pytest.fixture
def location(world: World) -> Location:
    return world.a.locations[0]


@pytest.fixture
def admin(world: World) -> Client:
    client = Client(HTTP_HOST=world.a.domain)
    client.force_login(world.a.client_admin)
    return client
