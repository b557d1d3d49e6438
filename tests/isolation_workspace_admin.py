"""Isolation cases for the workspace's admin pages with objects or POSTs (billing's Checkout,
the team's members and invitations, the settings form): another location's or agency's object is
a 404, a plain member is refused, nobody signed in goes to the sign-in page."""

from __future__ import annotations

from billing.models import Plan
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
