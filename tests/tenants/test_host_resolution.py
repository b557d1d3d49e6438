"""The request Host decides the tenant, in one place, with no fallback."""

import pytest
from django.test import Client
from django.utils import timezone

from tenants import services
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "host", ["unknown.example", "agency-zzz.localhost", "", "localhost.evil.example", "[::1]"]
)
def test_an_unknown_host_is_a_404_without_any_branding(world: World, host: str) -> None:
    response = Client(HTTP_HOST=host).get("/") if host else Client().get("/", HTTP_HOST="")
    assert response.status_code == 404
    assert b"Brand" not in response.content


def test_each_agency_domain_serves_its_own_brand(world: World) -> None:
    page_a = Client(HTTP_HOST=world.a.domain).get("/")
    page_b = Client(HTTP_HOST=world.b.domain).get("/")
    assert page_a.status_code == page_b.status_code == 200
    assert b"Brand A" in page_a.content and b"Brand B" not in page_a.content
    assert b"Brand B" in page_b.content and b"Brand A" not in page_b.content
    assert b"--brand-primary: #123456" in page_a.content


@pytest.mark.parametrize("variant", ["{d}:8000", "{D}", "{d}.", "{D}.:443"])
def test_port_case_and_trailing_dot_do_not_matter(world: World, variant: str) -> None:
    host = variant.format(d=world.a.domain, D=world.a.domain.upper())
    assert b"Brand A" in Client(HTTP_HOST=host).get("/").content


def test_a_custom_domain_serves_only_once_verified(world: World) -> None:
    record = services.agency_domain_add(
        agency=world.a.agency, domain="portal.brand-a.test", acting_user=None
    )
    assert Client(HTTP_HOST="portal.brand-a.test").get("/").status_code == 404
    services.agency_domain_verify(domain=record, acting_user=None)
    assert b"Brand A" in Client(HTTP_HOST="portal.brand-a.test").get("/").content


def test_a_suspended_agency_portal_is_unavailable(world: World) -> None:
    services.agency_update(agency=world.a.agency, acting_user=None, data={"status": "suspended"})
    response = Client(HTTP_HOST=world.a.domain).get("/")
    assert response.status_code == 403
    assert Client(HTTP_HOST=world.b.domain).get("/").status_code == 200


def test_platform_hosts_serve_the_platform_not_an_agency(world: World) -> None:
    response = Client(HTTP_HOST="localhost").get("/")
    assert response.status_code == 200
    assert b"Brand A" not in response.content
    assert Client(HTTP_HOST="localhost").get("/healthz").json() == {"status": "ok"}
    # The agency URLconf is not reachable on the platform host, nor the reverse.
    assert Client(HTTP_HOST="localhost").get("/app/").status_code == 404
    assert Client(HTTP_HOST=world.a.domain).get("/healthz").status_code == 404


def test_host_lookup_is_one_query(world: World, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    client = Client(HTTP_HOST=world.a.domain)
    with django_assert_num_queries(1):
        client.get("/")


def test_unverified_domains_of_other_agencies_never_resolve(world: World) -> None:
    factories.AgencyDomainFactory(agency=world.b.agency, domain="pending.test", verified_at=None)
    assert Client(HTTP_HOST="pending.test").get("/").status_code == 404
    factories.AgencyDomainFactory(
        agency=world.b.agency, domain="ready.test", verified_at=timezone.now()
    )
    assert b"Brand B" in Client(HTTP_HOST="ready.test").get("/").content
