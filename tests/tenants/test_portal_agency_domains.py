"""Custom domains on the agency pages (/app/agency/domains/): add with validation, the DNS records
to create, Verify against a real (local) DNS server, make primary and remove."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from tenants import services
from tenants.models import AgencyDomain, AuditLogEntry
from tests.conftest import World
from tests.dns_server import FakeDNS

pytestmark = pytest.mark.django_db
URL = "/app/agency/domains/"


@pytest.fixture
def fake_dns(settings: Any) -> Iterator[FakeDNS]:
    with FakeDNS().running() as server:
        settings.DNS_NAMESERVERS = ["127.0.0.1"]
        settings.DNS_PORT = server.port
        settings.DNS_TIMEOUT_SECONDS = 1.0
        yield server


def _custom(world: World, name: str = "portal.brand-a.test") -> AgencyDomain:
    return services.agency_domain_add(agency=world.a.agency, domain=name, acting_user=None)


def test_the_list_shows_the_platform_subdomain_and_the_records_to_create(
    world: World, agency_client: Callable[..., Client]
) -> None:
    record = _custom(world)
    text = agency_client(world.a, world.a.admin).get(URL).text
    assert "agency-a.localhost" in text and 'badge ok">Primary' in text
    row = text.split('data-domain="portal.brand-a.test"')[1].split("</tr>")[0]
    assert "Waiting for DNS" in row
    assert "<code>_portal-verify.portal.brand-a.test</code>" in row
    assert f"<code>{record.verification_token}</code>" in row
    assert "<code>agency-a.localhost</code>" in row  # the CNAME target
    assert "Verify" in row and "Make primary" not in row
    platform_row = text.split('data-domain="agency-a.localhost"')[1].split("</tr>")[0]
    assert "Remove" not in platform_row


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "This field is required."),
        ("agency-b.localhost", "belongs to the platform"),
        ("not a domain!", "domain"),
    ],
)
def test_a_bad_domain_is_refused_beside_the_field_and_nothing_is_saved(
    world: World, agency_client: Callable[..., Client], value: str, message: str
) -> None:
    response = agency_client(world.a, world.a.admin).post(URL, {"domain": value})
    assert response.status_code == 400
    error = response.text.split('id="id_domain_error"')[1].split("</ul>")[0]
    assert message in error
    assert AgencyDomain.objects.for_agency(world.a.agency).count() == 1


def test_a_domain_another_portal_uses_is_refused(
    world: World, agency_client: Callable[..., Client]
) -> None:
    services.agency_domain_add(agency=world.b.agency, domain="taken.test", acting_user=None)
    response = agency_client(world.a, world.a.owner).post(URL, {"domain": "Taken.Test."})
    assert response.status_code == 400 and "already in use by another portal" in response.text


def test_add_verify_make_primary_then_remove_the_old_one(
    world: World, agency_client: Callable[..., Client], fake_dns: FakeDNS
) -> None:
    client = agency_client(world.a, world.a.owner)
    response = client.post(URL, {"domain": "Portal.Brand-A.test"})
    assert response.status_code == 302 and response["Location"] == URL
    domain = AgencyDomain.objects.for_agency(world.a.agency).get(domain="portal.brand-a.test")
    assert AuditLogEntry.objects.for_agency(world.a.agency).filter(action="domain.added").exists()

    client.post(f"{URL}{domain.pk}/verify/")  # no record yet
    domain.refresh_from_db()
    assert not domain.is_verified
    assert "not verified yet" in client.get(URL).text

    fake_dns.txt["_portal-verify.portal.brand-a.test"] = [domain.verification_token]
    assert client.post(f"{URL}{domain.pk}/verify/").status_code == 302
    assert fake_dns.queries[-1] == "_portal-verify.portal.brand-a.test"
    domain.refresh_from_db()
    assert domain.is_verified
    assert "portal.brand-a.test is verified." in client.get(URL).text

    assert client.post(f"{URL}{domain.pk}/primary/").status_code == 302
    domain.refresh_from_db()
    assert domain.is_primary
    platform = AgencyDomain.objects.for_agency(world.a.agency).get(kind="platform")
    assert not platform.is_primary

    # The platform subdomain stays, whatever is posted.
    on_new = Client(HTTP_HOST="portal.brand-a.test")
    on_new.force_login(world.a.owner)
    on_new.post(f"{URL}{platform.pk}/remove/")
    assert AgencyDomain.objects.for_agency(world.a.agency).filter(pk=platform.pk).exists()
    assert "cannot be removed" in on_new.get(URL).text


def test_making_an_unverified_domain_primary_is_explained(
    world: World, agency_client: Callable[..., Client]
) -> None:
    domain = _custom(world)
    client = agency_client(world.a, world.a.admin)
    client.post(f"{URL}{domain.pk}/primary/")
    domain.refresh_from_db()
    assert not domain.is_primary
    assert "Verify the domain before making it the primary one." in client.get(URL).text
    assert client.post(f"{URL}{domain.pk}/remove/").status_code == 302
    assert not AgencyDomain.objects.for_agency(world.a.agency).filter(pk=domain.pk).exists()


def test_another_agencys_domain_is_a_404_and_staff_are_read_only(
    world: World, agency_client: Callable[..., Client]
) -> None:
    theirs = services.agency_domain_add(agency=world.b.agency, domain="b.test", acting_user=None)
    owner = agency_client(world.a, world.a.owner)
    for action in ("verify", "primary", "remove"):
        assert owner.post(f"{URL}{theirs.pk}/{action}/").status_code == 404
    assert AgencyDomain.objects.for_agency(world.b.agency).filter(pk=theirs.pk).exists()
    mine = _custom(world)
    staff = agency_client(world.a, world.a.staff)
    text = staff.get(URL).text
    assert "portal.brand-a.test" in text and "Add a domain" not in text
    assert staff.post(URL, {"domain": "x.test"}).status_code == 403
    assert staff.post(f"{URL}{mine.pk}/remove/").status_code == 403
