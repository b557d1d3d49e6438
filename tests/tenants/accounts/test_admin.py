"""The agency admin invites people and decides location requests, within its own agency."""

import pytest
from django.core import mail

from saas_platform.kernel.errors import ApplicationError
from tenants import services
from tenants.models import AuditLogEntry, Invitation, LocationRequest, Membership
from tests.conftest import AgencyClient, World

pytestmark = pytest.mark.django_db


def test_an_agency_admin_invites_to_one_of_its_locations(
    world: World, agency_client: AgencyClient, django_capture_on_commit_callbacks
) -> None:
    client = agency_client(world.a, world.a.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/tenants/invitation/add/",
            {"location": world.a.locations[1].pk, "email": "x@new.test", "role": "client_admin"},
        )
    assert response.status_code == 302
    invitation = Invitation.objects.for_agency(world.a.agency).get()
    assert (invitation.location, invitation.role, invitation.invited_by) == (
        world.a.locations[1],
        "client_admin",
        world.a.admin,
    )
    assert mail.outbox[0].to == ["x@new.test"]
    assert (
        AuditLogEntry.objects.for_agency(world.a.agency)
        .filter(action="invitation.created")
        .exists()
    )


def test_bad_invitations_are_refused_next_to_the_field_and_nothing_is_sent(
    world: World, agency_client: AgencyClient
) -> None:
    client = agency_client(world.a, world.a.owner)
    response = client.post(
        "/admin/tenants/invitation/add/",
        {"location": world.b.locations[0].pk, "email": "not an email", "role": "agency_owner"},
    )
    text = response.content.decode()
    assert response.status_code == 200
    assert "Enter a valid email address." in text
    assert "Select a valid choice" in text  # B's location, and an agency role
    assert 'value="not an email"' in text
    assert not Invitation.objects.unscoped().exists() and not mail.outbox


def test_client_admins_invite_to_their_own_location_only(world: World) -> None:
    services.invitation_create(
        location=world.a.locations[0],
        email="helper@x.test",
        role=Membership.Role.CLIENT_MEMBER,
        acting_user=world.a.client_admin,
    )
    with pytest.raises(ApplicationError, match="may not invite"):
        services.invitation_create(
            location=world.a.locations[1],
            email="helper@x.test",
            role=Membership.Role.CLIENT_MEMBER,
            acting_user=world.a.client_admin,
        )
    with pytest.raises(ApplicationError, match="may not invite"):
        services.invitation_create(
            location=world.a.locations[0],
            email="helper@x.test",
            role=Membership.Role.CLIENT_MEMBER,
            acting_user=world.a.client_member,
        )


def test_approving_a_location_request_from_the_admin(
    world: World, agency_client: AgencyClient
) -> None:
    pending = LocationRequest.objects.create(
        agency=world.a.agency, requested_by=world.a.client_member, business_name="Fresh Co"
    )
    foreign = LocationRequest.objects.create(
        agency=world.b.agency, requested_by=world.b.client_member, business_name="B Thing"
    )
    client = agency_client(world.a, world.a.owner)
    page = client.get("/admin/tenants/locationrequest/").content.decode()
    assert "Fresh Co" in page and "B Thing" not in page
    response = client.post(
        "/admin/tenants/locationrequest/",
        {"action": "approve", "_selected_action": [pending.pk, foreign.pk]},
    )
    assert response.status_code == 302
    pending.refresh_from_db()
    foreign.refresh_from_db()
    assert pending.status == "approved" and pending.location is not None
    assert foreign.status == "pending"
    # Staff may look but not decide.
    staff = agency_client(world.a, world.a.staff)
    assert staff.get("/admin/tenants/locationrequest/").status_code == 200
    second = LocationRequest.objects.create(
        agency=world.a.agency, requested_by=world.a.client_admin, business_name="Second"
    )
    staff.post(
        "/admin/tenants/locationrequest/", {"action": "approve", "_selected_action": [second.pk]}
    )
    second.refresh_from_db()
    assert second.status == "pending"


def test_the_migration_confirms_the_addresses_of_accounts_made_before_it(world: World) -> None:
    from importlib import import_module

    from allauth.account.models import EmailAddress
    from django.apps import apps

    from tenants.models import User

    earlier = User.objects.create_user("earlier@a.test", "pw-earlier-1", agency=world.a.agency)
    operator_rows = EmailAddress.objects.filter(user=world.operator).count()
    import_module("tenants.migrations.0003_accounts").confirm_existing_addresses(apps, None)
    assert EmailAddress.objects.get(user=earlier).verified
    assert EmailAddress.objects.filter(user=world.operator).count() == operator_rows
