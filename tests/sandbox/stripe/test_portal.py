"""The hosted billing portal: change plan (with proration), cancel, update card."""

from __future__ import annotations

from typing import Any

import httpx

from sandbox.stripe.testing import StripeStandIn
from tests.sandbox.stripe.conftest import make_plan, onboarded_account, subscribe


def portal(sdk: Any, customer: str, account: str | None = None) -> Any:
    options = {"stripe_account": account} if account else {}
    return sdk.v1.billing_portal.sessions.create(
        params={"customer": customer, "return_url": "https://portal.example/billing"},
        options=options,
    )


def test_portal_session_shape_and_page(sdk: Any, plan: Any, browser: httpx.Client) -> None:
    sub = subscribe(sdk, plan)
    session = portal(sdk, sub.customer)
    assert session.id.startswith("bps_") and session.object == "billing_portal.session"
    page = browser.get(session.url)
    assert page.status_code == 200
    assert "Growth" in page.text and "visa •••• 4242" in page.text
    assert 'href="https://portal.example/billing"' in page.text


def test_change_plan_prorates(
    sdk: Any, plan: Any, fake: StripeStandIn, browser: httpx.Client
) -> None:
    sub = subscribe(sdk, plan)
    scale = make_plan(sdk, amount=9000, name="Scale")
    fake.advance(days=10)
    session = portal(sdk, sub.customer)
    assert scale.id in browser.get(session.url).text
    done = browser.post(f"{session.url}/update", data={"subscription": sub.id, "price": scale.id})
    assert done.status_code == 303
    assert (
        "Your plan was updated." in browser.get(f"{fake.base_url}{done.headers['location']}").text
    )
    assert sdk.v1.subscriptions.retrieve(sub.id)["items"].data[0].price.id == scale.id
    pending = sdk.v1.invoice_items.list(params={"customer": sub.customer}).data
    assert len(pending) == 2 and all(i.proration for i in pending)
    bad = browser.post(f"{session.url}/update", data={"subscription": sub.id, "price": "price_x"})
    assert bad.status_code == 400


def test_cancel_at_period_end(sdk: Any, plan: Any, fake: StripeStandIn, browser: httpx.Client):
    sub = subscribe(sdk, plan)
    session = portal(sdk, sub.customer)
    browser.post(f"{session.url}/cancel", data={"subscription": sub.id})
    sub = sdk.v1.subscriptions.retrieve(sub.id)
    assert sub.cancel_at_period_end is True and sub.status == "active"
    assert "cancels at period end" in browser.get(session.url).text
    fake.advance(days=32)
    assert sdk.v1.subscriptions.retrieve(sub.id).status == "canceled"


def test_update_card_recovers_a_past_due_subscription(
    sdk: Any, plan: Any, fake: StripeStandIn, browser: httpx.Client
) -> None:
    sub = subscribe(sdk, plan, card="pm_card_chargeCustomerFail", trial_period_days=1)
    fake.advance(days=2)
    assert sdk.v1.subscriptions.retrieve(sub.id).status == "past_due"
    session = portal(sdk, sub.customer)
    declined = browser.post(f"{session.url}/card", data={"card_number": "4000000000000002"})
    assert declined.status_code == 402 and "declined" in declined.text
    browser.post(f"{session.url}/card", data={"card_number": "5555555555554444"})
    assert sdk.v1.subscriptions.retrieve(sub.id).status == "active"
    customer = sdk.v1.customers.retrieve(
        sub.customer, params={"expand": ["invoice_settings.default_payment_method"]}
    )
    assert customer.invoice_settings.default_payment_method.card.last4 == "4444"


def test_another_customers_subscription_is_out_of_reach(
    sdk: Any, plan: Any, browser: httpx.Client
) -> None:
    mine, theirs = subscribe(sdk, plan), subscribe(sdk, plan)
    session = portal(sdk, mine.customer)
    response = browser.post(f"{session.url}/cancel", data={"subscription": theirs.id})
    assert response.status_code == 400
    assert sdk.v1.subscriptions.retrieve(theirs.id).cancel_at_period_end is False


def test_portal_pages_carry_the_connected_accounts_branding(
    sdk: Any, fake: StripeStandIn, browser: httpx.Client
) -> None:
    account = onboarded_account(sdk, fake, "Bolt Local")
    price = make_plan(sdk, account=account.id)
    sub = subscribe(sdk, price, account=account.id)
    page = browser.get(portal(sdk, sub.customer, account.id).url).text
    assert "Bolt Local" in page and "Stand-in Platform" not in page
