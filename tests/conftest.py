"""The test harness: real PostgreSQL and Redis, outbound network blocked, and two agencies with
two locations each present in every database test."""

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.test import Client

from saas_platform.kernel.localcache import local_caches_clear
from tenants import selectors
from tenants.models import Agency, Location, Membership, User
from tests import factories
from tests.network import block_outbound_network

pytest_plugins = ["tests.plugins.ghl_standin", "tests.plugins.stripe_standin"]


def pytest_configure(config: pytest.Config) -> None:
    block_outbound_network()


@dataclass
class Tenant:
    agency: Agency
    locations: list[Location]
    owner: User
    admin: User
    staff: User
    client_admin: User  # client admin of locations[0]
    client_member: User  # client member of locations[1]
    users: list[User] = field(default_factory=list)

    @property
    def domain(self) -> str:
        return selectors.agency_primary_domain(self.agency)


@dataclass
class World:
    a: Tenant
    b: Tenant
    operator: User


def _make_tenant(label: str) -> Tenant:
    agency = factories.AgencyFactory(
        name=f"Agency {label.upper()}",
        slug=f"agency-{label}",
        branding={"display_name": f"Brand {label.upper()}", "primary_color": "#123456"},
    )
    locations = [
        factories.LocationFactory(agency=agency, name=f"{label.upper()} Location {i}")
        for i in (1, 2)
    ]

    def person(role: str, location: Location | None = None) -> User:
        user = factories.UserFactory(agency=agency, email=f"{role}@{label}.test")
        factories.MembershipFactory(user=user, agency=agency, role=role, location=location)
        return user

    owner = person(Membership.Role.AGENCY_OWNER)
    admin = person(Membership.Role.AGENCY_ADMIN)
    staff = person(Membership.Role.AGENCY_STAFF)
    client_admin = person(Membership.Role.CLIENT_ADMIN, locations[0])
    client_member = person(Membership.Role.CLIENT_MEMBER, locations[1])
    return Tenant(agency, locations, owner, admin, staff, client_admin, client_member)


@pytest.fixture
def world(db: None) -> World:
    return World(a=_make_tenant("a"), b=_make_tenant("b"), operator=factories.OperatorFactory())


@pytest.fixture(autouse=True)
def _two_tenants_in_every_db_test(request: pytest.FixtureRequest) -> None:
    uses_db = request.node.get_closest_marker("django_db") or {
        "db",
        "transactional_db",
    } & set(request.fixturenames)
    if uses_db:
        request.getfixturevalue("world")


AgencyClient = Callable[..., Client]


@pytest.fixture(autouse=True)
def _no_lookups_cached_from_another_test() -> None:
    """Each test's rows are new (a host may name another agency than in the last test): the
    per-process lookup caches (tenants.caches) start empty."""
    local_caches_clear()


@pytest.fixture
def agency_client() -> AgencyClient:
    """`agency_client(tenant_or_agency, user=None)`: a client on that agency's domain."""

    def make(tenant: Tenant | Agency, user: User | None = None) -> Client:
        agency = tenant.agency if isinstance(tenant, Tenant) else tenant
        client = Client(HTTP_HOST=selectors.agency_primary_domain(agency))
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def platform_client() -> Callable[..., Client]:
    def make(user: User | None = None) -> Client:
        client = Client(HTTP_HOST="localhost")
        if user is not None:
            client.force_login(user)
        return client

    return make
