"""Tenant-changing services: validation with clear messages, nothing half-written, an audit row
for every change."""

import pytest

from saas_platform.kernel.errors import ApplicationError
from tenants import selectors, services
from tenants.models import Agency, AgencyDomain, AuditLogEntry, Branding, Location, Membership
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db


def audit_actions(world_agency: Agency) -> list[str]:
    return list(
        AuditLogEntry.objects.for_agency(world_agency)
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_agency_create_makes_branding_and_a_verified_primary_subdomain(world: World) -> None:
    agency = services.agency_create(name="Nova Leads", acting_user=world.operator)
    domain = AgencyDomain.objects.for_agency(agency).get()
    assert (domain.domain, domain.is_primary, domain.is_verified) == (
        "nova-leads.localhost",
        True,
        True,
    )
    assert Branding.objects.for_agency(agency).get().display_name == "Nova Leads"
    entry = AuditLogEntry.objects.for_agency(agency).get()
    assert entry.action == "agency.created" and entry.actor == world.operator


def test_a_domain_claimed_by_another_agency_is_refused_and_nothing_is_stored(world: World) -> None:
    services.agency_domain_add(
        agency=world.a.agency, domain="Shared.Example.com.", acting_user=None
    )
    before = AgencyDomain.objects.unscoped().count(), AuditLogEntry.objects.unscoped().count()
    with pytest.raises(ApplicationError, match=r"shared\.example\.com is already in use"):
        services.agency_domain_add(
            agency=world.b.agency, domain="shared.example.com", acting_user=None
        )
    after = AgencyDomain.objects.unscoped().count(), AuditLogEntry.objects.unscoped().count()
    assert before == after


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ("localhost", "belongs to the platform"),
        ("agency-b.localhost", "belongs to the platform"),
        ("anything.localhost", "belongs to the platform"),
        ("not a domain", "Enter a domain name"),
        ("https://portal.example.com/x", "Enter a domain name"),
        ("-bad-.example.com", "Enter a domain name"),
    ],
)
def test_invalid_domains_are_refused_with_a_clear_message(
    world: World, domain: str, message: str
) -> None:
    with pytest.raises(ApplicationError, match=message):
        services.agency_domain_add(agency=world.a.agency, domain=domain, acting_user=None)
    assert not AgencyDomain.objects.for_agency(world.a.agency).filter(kind="custom").exists()


def test_internationalized_domains_are_stored_as_punycode(world: World) -> None:
    record = services.agency_domain_add(
        agency=world.a.agency, domain="bücher.example", acting_user=None
    )
    assert record.domain == "xn--bcher-kva.example"


def test_primary_domain_rules(world: World) -> None:
    record = services.agency_domain_add(agency=world.a.agency, domain="p.example", acting_user=None)
    with pytest.raises(ApplicationError, match="Verify the domain"):
        services.agency_domain_make_primary(domain=record, acting_user=None)
    services.agency_domain_verify(domain=record, acting_user=None)
    services.agency_domain_make_primary(domain=record, acting_user=None)
    primaries = AgencyDomain.objects.for_agency(world.a.agency).filter(is_primary=True)
    assert list(primaries.values_list("domain", flat=True)) == ["p.example"]
    with pytest.raises(ApplicationError, match="Make another domain primary"):
        services.agency_domain_remove(domain=record, acting_user=None)
    platform = AgencyDomain.objects.for_agency(world.a.agency).get(kind="platform")
    with pytest.raises(ApplicationError, match="cannot be removed"):
        services.agency_domain_remove(domain=platform, acting_user=None)


def test_links_use_the_primary_domain_only_while_it_is_verified(world: World) -> None:
    record = services.agency_domain_add(agency=world.a.agency, domain="p.example", acting_user=None)
    services.agency_domain_verify(domain=record, acting_user=None)
    services.agency_domain_make_primary(domain=record, acting_user=None)
    assert selectors.agency_primary_domain(world.a.agency) == "p.example"
    AgencyDomain.objects.for_agency(world.a.agency).filter(pk=record.pk).update(verified_at=None)
    platform = AgencyDomain.objects.for_agency(world.a.agency).get(kind="platform")
    assert selectors.agency_primary_domain(world.a.agency) == platform.domain


def test_branding_update_records_old_and_new_values(world: World) -> None:
    branding = Branding.objects.for_agency(world.a.agency).get()
    services.branding_update(
        branding=branding,
        acting_user=world.a.owner,
        data={"primary_color": "#000000", "display_name": "Brand A"},  # name unchanged
    )
    entry = AuditLogEntry.objects.for_agency(world.a.agency).filter(action="branding.updated").get()
    assert entry.changes == {"primary_color": ["#123456", "#000000"]}
    assert entry.actor == world.a.owner


def test_an_invalid_branding_change_stores_nothing(world: World) -> None:
    branding = Branding.objects.for_agency(world.a.agency).get()
    with pytest.raises(ApplicationError, match="primary_color"):
        services.branding_update(branding=branding, acting_user=None, data={"primary_color": "red"})
    assert Branding.objects.for_agency(world.a.agency).get().primary_color == "#123456"
    assert "branding.updated" not in audit_actions(world.a.agency)


def test_fields_outside_the_allow_list_are_refused(world: World) -> None:
    with pytest.raises(ApplicationError, match="agency"):
        services.location_update(
            location=world.a.locations[0], acting_user=None, data={"agency": world.b.agency}
        )


def test_location_create_validates_the_timezone(world: World) -> None:
    with pytest.raises(ApplicationError, match="IANA time zone"):
        services.location_create(
            agency=world.a.agency, name="X", timezone_name="Mars/Olympus", acting_user=None
        )
    location = services.location_create(
        agency=world.a.agency, name="Dubai", timezone_name="Asia/Dubai", acting_user=None
    )
    assert location.timezone == "Asia/Dubai"
    assert audit_actions(world.a.agency)[-1] == "location.created"


def test_users_are_unique_per_realm_not_globally(world: World) -> None:
    email = world.a.owner.email
    twin = services.user_create(agency=world.b.agency, email=email, acting_user=None)
    assert twin.pk != world.a.owner.pk
    with pytest.raises(ApplicationError, match="already has an account"):
        services.user_create(agency=world.a.agency, email=email.upper(), acting_user=None)


def test_membership_rules(world: World) -> None:
    person = factories.UserFactory(agency=world.a.agency)
    with pytest.raises(ApplicationError, match="Client roles need a location"):
        services.membership_grant(user=person, role="client_admin", acting_user=None)
    with pytest.raises(ApplicationError, match="another agency"):
        services.membership_grant(
            user=person, role="client_admin", location=world.b.locations[0], acting_user=None
        )
    membership = services.membership_grant(
        user=person, role="client_member", location=world.a.locations[0], acting_user=None
    )
    again = services.membership_grant(
        user=person, role="client_admin", location=world.a.locations[0], acting_user=None
    )
    assert again.pk == membership.pk and again.role == "client_admin"
    assert Membership.objects.for_agency(world.a.agency).filter(user=person).count() == 1
    services.membership_revoke(membership=again, acting_user=None)
    assert audit_actions(world.a.agency)[-3:] == [
        "membership.granted",
        "membership.updated",
        "membership.revoked",
    ]


def test_operators_cannot_hold_agency_roles(world: World) -> None:
    with pytest.raises(ApplicationError, match="Platform operators"):
        services.membership_grant(user=world.operator, role="agency_owner", acting_user=None)


def test_nobody_deactivates_themselves(world: World) -> None:
    with pytest.raises(ApplicationError, match="your own account"):
        services.user_update(
            user=world.a.owner, acting_user=world.a.owner, data={"is_active": False}
        )


def test_every_service_write_in_a_failed_transaction_rolls_back(world: World) -> None:
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        services.location_create(agency=world.a.agency, name="Ghost", acting_user=None)
        raise RuntimeError
    assert not Location.objects.for_agency(world.a.agency).filter(name="Ghost").exists()
    assert "location.created" not in audit_actions(world.a.agency)
