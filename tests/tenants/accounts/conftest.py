from collections.abc import Iterator

import pytest
from django.core.cache import cache

from tenants.models import Branding
from tests import factories
from tests.conftest import World

SIDE_DOMAIN = "side.a-portal.test"


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    # allauth counts attempts in the Redis cache: each test starts with none.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def branded(world: World) -> World:
    """Agency A with a full brand and a second verified (non-primary) domain."""
    factories.BrandingFactory(
        agency=world.a.agency,
        sender_name="Brand A Team",
        logo_url="https://cdn.brand-a.test/logo.png",
        support_email="help@brand-a.test",
    )
    factories.AgencyDomainFactory(agency=world.a.agency, domain=SIDE_DOMAIN)
    world.a.agency.refresh_from_db()
    assert Branding.objects.for_agency(world.a.agency).get().sender_name == "Brand A Team"
    return world
