"""Portal workspace fixtures: a signed-in member of a location installed on the GHL stand-in."""

from __future__ import annotations

import pytest
from django.test import Client

from tenants import selectors
from tenants.models import Location, Membership
from tests import factories


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
