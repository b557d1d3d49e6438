"""The billing screens: the agency's Stripe account with its onboarding link, plans added through
`plan_save` (refusals shown on the form, nothing stored), and the staff's event inbox replay."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client

from billing.models import Plan, StripeAccount, StripeEvent
from tests.billing.stripe_wire import StripeWire
from tests.conftest import AgencyClient, World

PLANS = "/admin/billing/plan/"
ACCOUNT = "/admin/billing/stripeaccount/"
FORM = {
    "name": "Pro",
    "amount": "15000",
    "currency": "usd",
    "interval": "month",
    "trial_days": "7",
    "entitlements": '{"routing": true, "seats": 10}',
    "active": "on",
}


def test_the_owner_connects_stripe_from_the_account_page(
    world: World, agency_client: AgencyClient, stripe_wire: StripeWire
) -> None:
    owner = agency_client(world.a, world.a.owner)
    page = owner.get(ACCOUNT)
    assert page.status_code == 200
    assert "Connect a Stripe account" in page.content.decode()
    response = owner.post(ACCOUNT + "onboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("https://connect.stripe.com/setup/e/acct_")
    (link,) = stripe_wire.creates("/v1/account_links")
    assert link.form["return_url"] == f"http://{world.a.domain}{ACCOUNT}"
    account = StripeAccount.objects.for_agency(world.a.agency).get()
    assert account.stripe_account_id in owner.get(ACCOUNT).content.decode()


def test_a_plan_is_added_through_the_form(
    world: World,
    agency_client: AgencyClient,
    ready_account: StripeAccount,
    stripe_wire: StripeWire,
) -> None:
    response = agency_client(world.a, world.a.owner).post(PLANS + "add/", FORM)
    assert response.status_code == 302, response.content.decode()[:2000]
    plan = Plan.objects.for_agency(world.a.agency).get()
    assert (plan.amount, plan.entitlements) == (15000, {"routing": True, "seats": 10})
    assert plan.stripe_price_id
    assert {c.account for c in stripe_wire.calls} == {"acct_AgencyA0000001"}


def test_a_bad_plan_is_refused_on_the_form_and_nothing_is_stored(
    world: World,
    agency_client: AgencyClient,
    ready_account: StripeAccount,
    stripe_wire: StripeWire,
) -> None:
    owner = agency_client(world.a, world.a.owner)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"currency": "xyz"}, "does not support the currency"),
        ({"entitlements": '{"jetpack": true}'}, "Unknown entitlements: jetpack"),
        ({"amount": "-5"}, "greater than or equal to 0"),  # the field refuses negatives
    ]
    for change, message in cases:
        response = owner.post(PLANS + "add/", {**FORM, **change})
        assert response.status_code == 200
        assert message in response.content.decode()
    assert not Plan.objects.for_agency(world.a.agency).exists()
    assert stripe_wire.calls == []


def test_without_payouts_the_form_says_so(
    world: World, agency_client: AgencyClient, stripe_wire: StripeWire
) -> None:
    response = agency_client(world.a, world.a.owner).post(PLANS + "add/", FORM)
    assert response.status_code == 200
    assert "Connect a Stripe account before selling plans" in response.content.decode()
    assert stripe_wire.calls == []


def test_staff_replay_a_dead_event(
    world: World,
    platform_client: Callable[..., Client],
    ready_account: StripeAccount,
    stripe_wire: StripeWire,
) -> None:
    event = StripeEvent.objects.create(
        source="connect",
        event_id="evt_dead",
        event_type="account.updated",
        account=ready_account.stripe_account_id,
        body=b'{"id": "evt_dead", "type": "account.updated", "data": {"object": {}}}',
        status="dead",
        attempts=6,
    )
    response = platform_client(world.operator).post(
        "/admin/billing/stripeevent/",
        {"action": "replay", "_selected_action": [event.pk]},
        follow=True,
    )
    assert "Replayed 1 event; 1 succeeded." in response.content.decode()
    event.refresh_from_db()
    assert event.status == "succeeded"
    assert [c.path for c in stripe_wire.calls] == ["/v1/accounts/acct_AgencyA0000001"]
