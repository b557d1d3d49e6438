"""The workspace's team page (/app/l/<id>/team/): members and roles, invitations, and the rule
that a business always keeps one administrator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from tenants.models import AuditLogEntry, Invitation, Membership, User
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(world: World, agency_client: Callable[..., Client]) -> Any:
    class Team:
        location = world.a.locations[0]
        base = f"/app/l/{world.a.locations[0].pk}/team/"
        admin = agency_client(world.a, world.a.client_admin)
        colleague: User = factories.UserFactory(agency=world.a.agency, email="colleague@a.test")

        def membership(self, user: User) -> Membership:
            found: Membership = Membership.objects.for_agency(world.a.agency).get(
                user=user, location=self.location
            )
            return found

    factories.MembershipFactory(
        user=Team.colleague, role=Membership.Role.CLIENT_MEMBER, location=Team.location
    )
    return Team()


def test_the_page_lists_members_invitations_and_the_agency_team(world: World, team: Any) -> None:
    factories.InvitationFactory(location=team.location, email="waiting@a.test")
    factories.InvitationFactory(location=world.a.locations[1], email="elsewhere@a.test")
    text = team.admin.get(team.base).content.decode()
    assert "client_admin@a.test" in text and "colleague@a.test" in text
    assert "waiting@a.test" in text and "elsewhere@a.test" not in text
    assert "client_member@a.test" not in text  # a member of the other location
    assert "Your account team at Brand A" in text and "owner@a.test" in text
    assert "Agency owner" in text and "owner@b.test" not in text
    assert 'aria-current="page"' in text and ">Team</a>" in text


def test_inviting_sends_the_link_and_shows_it_waiting(
    team: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = team.admin.post(team.base, {"email": "new@a.test", "role": "client_admin"})
    assert response.status_code == 302 and response["Location"] == team.base
    invitation = Invitation.objects.for_agency(team.location.agency).get(email="new@a.test")
    assert (invitation.location_id, invitation.role) == (team.location.pk, "client_admin")
    assert [m.to for m in mail.outbox] == [["new@a.test"]]
    text = team.admin.get(team.base).content.decode()
    assert "Invitation sent to new@a.test." in text and "Waiting" in text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "not-an-address", "role": "client_member"}, "Enter a valid email address."),
        ({"email": "colleague@a.test", "role": "client_member"}, "is already a member"),
        ({"email": "waiting@a.test", "role": "client_member"}, "is already invited"),
        ({"email": "x@a.test", "role": "agency_owner"}, "Select a valid choice."),
    ],
)
def test_a_refused_invitation_shows_why_next_to_the_field_and_saves_nothing(
    team: Any, data: dict[str, str], message: str
) -> None:
    factories.InvitationFactory(location=team.location, email="waiting@a.test")
    response = team.admin.post(team.base, data)
    assert response.status_code == 200
    field = "role" if "role" in message or data["role"] == "agency_owner" else "email"
    assert message in " ".join(response.context["form"].errors[field])
    assert 'aria-invalid="true"' in response.content.decode()
    assert Invitation.objects.for_agency(team.location.agency).count() == 1
    assert mail.outbox == []


def test_an_administrator_changes_a_role(world: World, team: Any) -> None:
    membership = team.membership(team.colleague)
    url = f"{team.base}members/{membership.pk}/role/"
    response = team.admin.post(url, {"role": "client_admin"}, follow=True)
    assert "colleague@a.test is now administrator." in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == "client_admin"
    entry = AuditLogEntry.objects.for_agency(world.a.agency).filter(action="membership.updated")
    assert entry.get().changes == {"role": ["client_member", "client_admin"]}


def test_the_last_administrator_cannot_be_demoted_or_removed(world: World, team: Any) -> None:
    own = team.membership(world.a.client_admin)
    demoted = team.admin.post(
        f"{team.base}members/{own.pk}/role/", {"role": "client_member"}, follow=True
    )
    assert "only administrator and cannot be made a member" in demoted.content.decode()
    removed = team.admin.post(f"{team.base}members/{own.pk}/remove/", follow=True)
    assert "only administrator and cannot be removed" in removed.content.decode()
    # Even the agency's owner cannot leave the business without one.
    owner = Client(HTTP_HOST=world.a.domain)
    owner.force_login(world.a.owner)
    owner.post(f"{team.base}members/{own.pk}/remove/")
    own.refresh_from_db()
    assert own.role == "client_admin"


def test_with_a_second_administrator_one_may_leave(world: World, team: Any) -> None:
    colleague = team.membership(team.colleague)
    team.admin.post(f"{team.base}members/{colleague.pk}/role/", {"role": "client_admin"})
    own = team.membership(world.a.client_admin)
    response = team.admin.post(f"{team.base}members/{own.pk}/remove/")
    assert response.status_code == 302 and response["Location"] == "/app/"
    assert not Membership.objects.for_agency(world.a.agency).filter(pk=own.pk).exists()
    assert team.admin.get(team.base).status_code == 404


def test_removing_a_member_takes_their_access(world: World, team: Any) -> None:
    colleague = team.membership(team.colleague)
    response = team.admin.post(f"{team.base}members/{colleague.pk}/remove/", follow=True)
    assert "colleague@a.test no longer has access" in response.content.decode()
    assert not Membership.objects.for_agency(world.a.agency).filter(pk=colleague.pk).exists()
    audit = AuditLogEntry.objects.for_agency(world.a.agency).get(action="membership.revoked")
    assert audit.actor == world.a.client_admin


def test_resend_renews_the_invitation_and_mails_it_again(
    team: Any, django_capture_on_commit_callbacks: Any
) -> None:
    invitation = factories.InvitationFactory(
        location=team.location,
        email="late@a.test",
        expires_at=timezone.now() - timedelta(days=1),
    )
    assert "Expired" in team.admin.get(team.base).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        team.admin.post(f"{team.base}invitations/{invitation.pk}/resend/")
    invitation.refresh_from_db()
    assert invitation.expires_at > timezone.now() + timedelta(days=1)
    assert [m.to for m in mail.outbox] == [["late@a.test"]]


def test_cancel_withdraws_the_invitation(world: World, team: Any) -> None:
    invitation = factories.InvitationFactory(location=team.location, email="gone@a.test")
    response = team.admin.post(f"{team.base}invitations/{invitation.pk}/cancel/", follow=True)
    assert "The invitation to gone@a.test was canceled." in response.content.decode()
    assert not Invitation.objects.for_agency(world.a.agency).filter(pk=invitation.pk).exists()
    assert (
        AuditLogEntry.objects.for_agency(world.a.agency)
        .filter(action="invitation.canceled")
        .exists()
    )


def test_an_accepted_invitation_cannot_be_canceled(world: World, team: Any) -> None:
    invitation = factories.InvitationFactory(
        location=team.location, email="in@a.test", accepted_at=timezone.now()
    )
    response = team.admin.post(f"{team.base}invitations/{invitation.pk}/cancel/", follow=True)
    assert "has already accepted" in response.content.decode()
    assert Invitation.objects.for_agency(world.a.agency).filter(pk=invitation.pk).exists()


def test_agency_staff_see_the_team_but_change_nothing(
    world: World, team: Any, agency_client: Callable[..., Client]
) -> None:
    staff = agency_client(world.a, world.a.staff)
    text = staff.get(team.base).content.decode()
    assert "colleague@a.test" in text and "Send invitation" not in text and "Remove" not in text
    colleague = team.membership(team.colleague)
    assert staff.post(f"{team.base}members/{colleague.pk}/remove/").status_code == 403
    assert staff.post(team.base, {"email": "x@a.test", "role": "client_member"}).status_code == 403
    assert Membership.objects.for_agency(world.a.agency).filter(pk=colleague.pk).exists()


def test_agency_memberships_are_not_reachable_from_a_business_team(world: World, team: Any) -> None:
    owner_membership = Membership.objects.for_agency(world.a.agency).get(user=world.a.owner)
    url = f"{team.base}members/{owner_membership.pk}/remove/"
    assert team.admin.post(url).status_code == 404


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_admins_demoting_each_other_at_once_leave_one_admin(world: World) -> None:
    import threading

    from django.db import connection

    from saas_platform.kernel.errors import ApplicationError
    from tenants.services.team import location_member_role_set

    location = world.a.locations[0]
    second = factories.UserFactory(agency=world.a.agency, email="second@a.test")
    factories.MembershipFactory(user=second, role="client_admin", location=location)
    rows = Membership.objects.for_agency(world.a.agency).filter(location=location)
    first_row, second_row = rows.get(user=world.a.client_admin), rows.get(user=second)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def demote(membership: Membership, acting: User) -> None:
        try:
            start.wait()
            location_member_role_set(
                membership=membership, role="client_member", acting_user=acting
            )
            outcomes.append("demoted")
        except ApplicationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=demote, args=(second_row, world.a.client_admin)),
        threading.Thread(target=demote, args=(first_row, second)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["demoted", "refused"]
    assert rows.filter(role="client_admin").count() == 1
