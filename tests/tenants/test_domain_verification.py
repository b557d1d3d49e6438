"""Custom domains are verified by a TXT record carrying the agency's token."""

from collections.abc import Iterator

import pytest
from django.test import Client

from tenants import services, tasks
from tenants.models import AgencyDomain, AuditLogEntry
from tests.conftest import AgencyClient, World
from tests.dns_server import FakeDNS

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_dns(settings: pytest.FixtureRequest) -> Iterator[FakeDNS]:
    with FakeDNS().running() as server:
        settings.DNS_NAMESERVERS = ["127.0.0.1"]  # type: ignore[attr-defined]
        settings.DNS_PORT = server.port  # type: ignore[attr-defined]
        settings.DNS_TIMEOUT_SECONDS = 1.0  # type: ignore[attr-defined]
        yield server


def test_adding_a_domain_checks_dns_after_commit(
    world: World, fake_dns: FakeDNS, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        record = services.agency_domain_add(
            agency=world.a.agency, domain="portal.brand-a.test", acting_user=None
        )
    assert fake_dns.queries == []  # nothing runs before the commit
    assert len(callbacks) == 1
    fake_dns.txt["_portal-verify.portal.brand-a.test"] = ["unrelated", record.verification_token]
    callbacks[0]()  # the commit happens: the task runs (eagerly in tests)
    assert fake_dns.queries == ["_portal-verify.portal.brand-a.test"]
    record.refresh_from_db()
    assert record.is_verified
    assert b"Brand A" in Client(HTTP_HOST="portal.brand-a.test").get("/").content
    assert (
        AuditLogEntry.objects.for_agency(world.a.agency).filter(action="domain.verified").exists()
    )


def test_a_rolled_back_add_enqueues_nothing(
    world: World, fake_dns: FakeDNS, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    from django.db import transaction

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.agency_domain_add(agency=world.a.agency, domain="gone.test", acting_user=None)
        raise RuntimeError
    assert callbacks == [] and fake_dns.queries == []


@pytest.mark.parametrize("published", [[], ["wrong-token"]])
def test_without_the_token_the_domain_stays_unverified(
    world: World, fake_dns: FakeDNS, published: list[str]
) -> None:
    record = services.agency_domain_add(agency=world.a.agency, domain="x.test", acting_user=None)
    fake_dns.txt["_portal-verify.x.test"] = published
    assert tasks.agency_domain_check(record.pk) is False
    record.refresh_from_db()
    assert not record.is_verified
    assert Client(HTTP_HOST="x.test").get("/").status_code == 404


def test_an_unreachable_resolver_means_not_verified_yet(world: World, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DNS_NAMESERVERS = ["127.0.0.1"]
    settings.DNS_PORT = 9  # discard: nothing answers
    settings.DNS_TIMEOUT_SECONDS = 0.3
    record = services.agency_domain_add(agency=world.a.agency, domain="y.test", acting_user=None)
    assert services.agency_domain_check(domain=record) is False


def test_the_periodic_recheck_covers_pending_custom_domains_only(
    world: World, fake_dns: FakeDNS
) -> None:
    pending = services.agency_domain_add(agency=world.b.agency, domain="b.test", acting_user=None)
    fake_dns.txt["_portal-verify.b.test"] = [pending.verification_token]
    assert tasks.agency_domains_recheck() == 1
    pending.refresh_from_db()
    assert pending.is_verified
    assert tasks.agency_domains_recheck() == 0


def test_the_agency_admin_shows_the_records_and_checks_on_demand(
    world: World, fake_dns: FakeDNS, agency_client: AgencyClient
) -> None:
    record = services.agency_domain_add(agency=world.a.agency, domain="z.test", acting_user=None)
    client = agency_client(world.a, world.a.owner)
    page = client.get(f"/admin/tenants/agencydomain/{record.pk}/change/").content.decode()
    assert "_portal-verify.z.test" in page and record.verification_token in page
    action = {"action": "check_dns", "_selected_action": [record.pk]}
    response = client.post("/admin/tenants/agencydomain/", action, follow=True)
    assert "Not verified yet: no TXT record at _portal-verify.z.test" in response.content.decode()
    fake_dns.txt["_portal-verify.z.test"] = [record.verification_token]
    response = client.post("/admin/tenants/agencydomain/", action, follow=True)
    assert "Verified: z.test." in response.content.decode()
    assert AgencyDomain.objects.for_agency(world.a.agency).get(pk=record.pk).is_verified
