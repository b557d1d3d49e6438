"""Isolation cases for the workspace's admin pages with objects or POSTs (billing's Checkout,
the team's members and invitations, the settings form): another location's or agency's object is
a 404, a plain member is refused, nobody signed in goes to the sign-in page."""

from __future__ import annotations

from billing.models import Plan
from tenants.models import Invitation, Location, Membership
from tests import factories
from tests.isolation import Check, Visitors, _redirects_to_login, workspace_page

LOGIN = "/accounts/login/"


def _plan_checkout(v: Visitors) -> None:
    """Only the agency's own plans, for the admins' own location; nothing reaches Stripe (it is
    unreachable here: the own plan, not in Stripe yet, comes back with the reason)."""
    own, sibling = v.world.a.locations
    mine = Plan.objects.create(agency=v.world.a.agency, name="A plan", amount=100, currency="usd")
    theirs = Plan.objects.create(
        agency=v.world.b.agency, name="B secret plan", amount=100, currency="usd"
    )

    def url(location_id: int, plan_id: int) -> str:
        return f"/app/l/{location_id}/billing/plans/{plan_id}/checkout/"

    admin = v.on_a(v.world.a.client_admin)
    refused = admin.post(url(own.pk, mine.pk))
    assert refused.status_code == 302 and refused["Location"] == f"/app/l/{own.pk}/billing/"
    assert admin.post(url(own.pk, theirs.pk)).status_code == 404
    assert admin.post(url(sibling.pk, mine.pk)).status_code == 404
    assert admin.post(url(v.world.b.locations[0].pk, theirs.pk)).status_code == 404
    assert admin.get(url(own.pk, mine.pk)).status_code == 405
    member = v.on_a(v.world.a.client_member)
    assert member.post(url(sibling.pk, mine.pk)).status_code == 403
    assert member.post(url(own.pk, mine.pk)).status_code == 404
    owner = v.on_a(v.world.a.owner)
    assert owner.post(url(v.world.b.locations[0].pk, theirs.pk)).status_code == 404
    _redirects_to_login(v.on_a().post(url(own.pk, mine.pk)), LOGIN)
    _redirects_to_login(v.b_session_on_a().post(url(own.pk, mine.pk)), LOGIN)


CASES: dict[str, Check] = {
    "app/l/<int:location_id>/billing/": workspace_page("billing/", access="admin"),
    "app/l/<int:location_id>/billing/plans/<int:plan_id>/checkout/": _plan_checkout,
}


def _team_member_action(action: str) -> Check:
    """Role change and removal: only members of the admin's own location; an agency membership,
    another location's or agency's member is a 404, and nothing changes."""

    def check(v: Visitors) -> None:
        own, sibling = v.world.a.locations
        member_here = Membership.objects.for_agency(v.world.a.agency).get(
            user=v.world.a.client_admin, location=own
        )
        member_there = Membership.objects.for_agency(v.world.a.agency).get(
            user=v.world.a.client_member, location=sibling
        )
        agency_row = Membership.objects.for_agency(v.world.a.agency).get(user=v.world.a.owner)
        foreign = Membership.objects.for_agency(v.world.b.agency).get(user=v.world.b.client_admin)
        data = {"role": "client_member"}

        def url(location_id: int, membership_id: int) -> str:
            return f"/app/l/{location_id}/team/members/{membership_id}/{action}/"

        admin = v.on_a(v.world.a.client_admin)
        # Its own membership: the last admin's, so refused with the reason on the page.
        assert admin.post(url(own.pk, member_here.pk), data).status_code == 302
        assert admin.post(url(own.pk, member_there.pk), data).status_code == 404
        assert admin.post(url(own.pk, agency_row.pk), data).status_code == 404
        assert admin.post(url(own.pk, foreign.pk), data).status_code == 404
        assert admin.post(url(sibling.pk, member_there.pk), data).status_code == 404
        b_location = v.world.b.locations[0]
        assert admin.post(url(b_location.pk, foreign.pk), data).status_code == 404
        assert admin.get(url(own.pk, member_here.pk)).status_code == 405
        member = v.on_a(v.world.a.client_member)
        assert member.post(url(sibling.pk, member_there.pk), data).status_code == 403
        owner = v.on_a(v.world.a.owner)
        assert owner.post(url(b_location.pk, foreign.pk), data).status_code == 404
        _redirects_to_login(v.on_a().post(url(own.pk, member_here.pk), data), LOGIN)
        _redirects_to_login(v.b_session_on_a().post(url(own.pk, member_here.pk), data), LOGIN)
        assert Membership.objects.for_agency(v.world.b.agency).filter(pk=foreign.pk).exists()
        member_there.refresh_from_db()
        assert member_there.role == "client_member"

    return check


def _team_invitation_action(action: str) -> Check:
    """Resend and cancel: only the open invitations of the admin's own location."""

    def check(v: Visitors) -> None:
        own, sibling = v.world.a.locations
        b_location = v.world.b.locations[0]
        mine = factories.InvitationFactory(location=own, email="mine@a.test")
        next_door = factories.InvitationFactory(location=sibling, email="next@a.test")
        theirs = factories.InvitationFactory(location=b_location, email="theirs@b.test")

        def url(location_id: int, invitation_id: int) -> str:
            return f"/app/l/{location_id}/team/invitations/{invitation_id}/{action}/"

        admin = v.on_a(v.world.a.client_admin)
        assert admin.post(url(own.pk, next_door.pk)).status_code == 404
        assert admin.post(url(own.pk, theirs.pk)).status_code == 404
        assert admin.post(url(sibling.pk, next_door.pk)).status_code == 404
        assert admin.post(url(b_location.pk, theirs.pk)).status_code == 404
        assert admin.get(url(own.pk, mine.pk)).status_code == 405
        member = v.on_a(v.world.a.client_member)
        assert member.post(url(sibling.pk, next_door.pk)).status_code == 403
        assert v.on_a(v.world.a.owner).post(url(b_location.pk, theirs.pk)).status_code == 404
        _redirects_to_login(v.on_a().post(url(own.pk, mine.pk)), LOGIN)
        _redirects_to_login(v.b_session_on_a().post(url(own.pk, mine.pk)), LOGIN)
        kept = Invitation.objects.for_agency(v.world.b.agency).filter(pk=theirs.pk)
        assert kept.exists()
        assert admin.post(url(own.pk, mine.pk)).status_code == 302

    return check


def _team_page(v: Visitors) -> None:
    """GET as any workspace admin page; the invitation POST only for the admins' own location."""
    workspace_page("team/", access="admin")(v)
    own, sibling = v.world.a.locations
    data = {"email": "new@a.test", "role": "client_member"}
    admin = v.on_a(v.world.a.client_admin)
    assert admin.post(f"/app/l/{sibling.pk}/team/", data).status_code == 404
    assert admin.post(f"/app/l/{v.world.b.locations[0].pk}/team/", data).status_code == 404
    assert (
        v.on_a(v.world.a.client_member).post(f"/app/l/{sibling.pk}/team/", data).status_code == 403
    )
    _redirects_to_login(v.b_session_on_a().post(f"/app/l/{own.pk}/team/", data), LOGIN)
    assert not Invitation.objects.for_agency(v.world.a.agency).exists()
    assert admin.post(f"/app/l/{own.pk}/team/", data).status_code == 302


def _settings_page(v: Visitors) -> None:
    """GET as any workspace admin page; a POST changes only the admins' own location."""
    workspace_page("settings/", access="admin")(v)
    own, sibling = v.world.a.locations
    foreign = v.world.b.locations[0]
    data = {"name": "Taken over", "timezone": "UTC"}
    admin = v.on_a(v.world.a.client_admin)
    assert admin.post(f"/app/l/{sibling.pk}/settings/", data).status_code == 404
    assert admin.post(f"/app/l/{foreign.pk}/settings/", data).status_code == 404
    member = v.on_a(v.world.a.client_member)
    assert member.post(f"/app/l/{sibling.pk}/settings/", data).status_code == 403
    _redirects_to_login(v.b_session_on_a().post(f"/app/l/{own.pk}/settings/", data), LOGIN)
    names = {loc.pk: loc.name for loc in Location.objects.unscoped().all()}
    assert "Taken over" not in names.values()
    assert admin.post(f"/app/l/{own.pk}/settings/", data).status_code == 302


CASES.update(
    {
        "app/l/<int:location_id>/team/": _team_page,
        "app/l/<int:location_id>/team/members/<int:membership_id>/role/": _team_member_action(
            "role"
        ),
        "app/l/<int:location_id>/team/members/<int:membership_id>/remove/": _team_member_action(
            "remove"
        ),
        "app/l/<int:location_id>/team/invitations/<int:invitation_id>/resend/": (
            _team_invitation_action("resend")
        ),
        "app/l/<int:location_id>/team/invitations/<int:invitation_id>/cancel/": (
            _team_invitation_action("cancel")
        ),
        "app/l/<int:location_id>/settings/": _settings_page,
    }
)
