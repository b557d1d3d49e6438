"""Checkout Sessions and the hosted page, submitted over HTTP with Stripe's test cards."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from sandbox.stripe.testing import StripeStandIn
from tests.sandbox.stripe.conftest import make_plan, onboarded_account

SUCCESS = "https://portal.example/billing/done?session={CHECKOUT_SESSION_ID}"


def new_session(sdk: Any, price: Any, account: str | None = None, **params: Any) -> Any:
    options = {"stripe_account": account} if account else {}
    return sdk.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "line_items": [{"price": price.id, "quantity": 1}],
            "success_url": SUCCESS,
            "cancel_url": "https://portal.example/billing",
            "client_reference_id": "location-42",
            "metadata": {"location": "42"},
            **params,
        },
        options=options,
    )


def test_session_shape(sdk: Any, plan: Any) -> None:
    session = new_session(sdk, plan, customer_email="buyer@example.com")
    assert session.id.startswith("cs_test_")
    assert (session.object, session.status, session.payment_status) == (
        "checkout.session",
        "open",
        "unpaid",
    )
    assert session.amount_total == 3000 and session.currency == "usd"
    assert session.url.endswith(f"/c/pay/{session.id}")
    assert session.client_reference_id == "location-42"
    assert session.expires_at - session.created == 24 * 3600
    items = sdk.v1.checkout.sessions.line_items.list(session.id)
    assert items.data[0].price.id == plan.id


def test_a_succeeding_card_completes_the_subscription(
    sdk: Any, plan: Any, browser: httpx.Client
) -> None:
    session = new_session(sdk, plan)
    page = browser.get(session.url)
    assert page.status_code == 200 and 'name="card_number"' in page.text
    done = browser.post(
        session.url, data={"card_number": "4242 4242 4242 4242", "email": "buyer@example.com"}
    )
    assert done.status_code == 303
    assert done.headers["location"] == SUCCESS.replace("{CHECKOUT_SESSION_ID}", session.id)
    session = sdk.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["subscription", "customer", "invoice"]}
    )
    assert (session.status, session.payment_status) == ("complete", "paid")
    assert session.customer.email == "buyer@example.com"
    assert session.subscription.status == "active"
    assert session.invoice.status == "paid" and session.invoice.amount_paid == 3000
    assert session.customer.invoice_settings.default_payment_method.startswith("pm_")
    kinds = [e.type for e in sdk.v1.events.list(params={"limit": 100}).data]
    assert "checkout.session.completed" in kinds and "invoice.paid" in kinds
    assert "customer.subscription.created" in kinds


def test_a_declined_card_creates_nothing(sdk: Any, plan: Any, browser: httpx.Client) -> None:
    session = new_session(sdk, plan)
    page = browser.post(
        session.url, data={"card_number": "4000000000000002", "email": "buyer@example.com"}
    )
    assert page.status_code == 402
    assert "Your card was declined." in page.text
    assert sdk.v1.checkout.sessions.retrieve(session.id).status == "open"
    assert sdk.v1.customers.list().data == []
    assert sdk.v1.subscriptions.list(params={"status": "all"}).data == []
    insufficient = browser.post(
        session.url, data={"card_number": "4000000000009995", "email": "buyer@example.com"}
    )
    assert "insufficient funds" in insufficient.text


def test_a_card_that_fails_charges_is_declined_at_checkout(
    sdk: Any, plan: Any, browser: httpx.Client
) -> None:
    session = new_session(sdk, plan)
    page = browser.post(
        session.url, data={"card_number": "4000000000000341", "email": "buyer@example.com"}
    )
    assert page.status_code == 402
    assert sdk.v1.customers.list().data == []


def test_a_trial_needs_no_payment_now(sdk: Any, plan: Any, browser: httpx.Client) -> None:
    session = new_session(sdk, plan, subscription_data={"trial_period_days": 14})
    assert "14-day free trial" in browser.get(session.url).text
    browser.post(session.url, data={"card_number": "4000000000000341", "email": "t@example.com"})
    session = sdk.v1.checkout.sessions.retrieve(session.id, params={"expand": ["subscription"]})
    assert session.payment_status == "no_payment_required"
    sub = session.subscription
    assert sub.status == "trialing"
    assert sub.trial_end - sub.trial_start == 14 * 86_400


def test_authentication_required_card_asks_then_succeeds(
    sdk: Any, plan: Any, browser: httpx.Client
) -> None:
    session = new_session(sdk, plan)
    challenge = browser.post(
        session.url, data={"card_number": "4000002500003155", "email": "b@example.com"}
    )
    assert challenge.status_code == 200 and "Complete authentication" in challenge.text
    done = browser.post(f"{session.url}/authenticate", data={"action": "complete"})
    assert done.status_code == 303
    assert sdk.v1.checkout.sessions.retrieve(session.id).status == "complete"


def test_failed_authentication_declines(sdk: Any, plan: Any, browser: httpx.Client) -> None:
    session = new_session(sdk, plan)
    browser.post(session.url, data={"card_number": "4000002500003155", "email": "b@example.com"})
    page = browser.post(f"{session.url}/authenticate", data={"action": "fail"})
    assert page.status_code == 402
    assert "unable to authenticate" in page.text
    assert sdk.v1.checkout.sessions.retrieve(session.id).status == "open"
    assert sdk.v1.customers.list().data == []


def test_the_page_shows_the_connected_accounts_branding(
    sdk: Any, fake: StripeStandIn, browser: httpx.Client
) -> None:
    account = onboarded_account(sdk, fake, "Apex Growth")
    price = make_plan(sdk, account=account.id)
    session = new_session(sdk, price, account=account.id)
    page = browser.get(session.url).text
    assert "Apex Growth" in page
    assert "#0a7d55" in page and "https://apex.example/logo.png" in page
    assert "Stand-in Platform" not in page


def test_payment_mode_with_an_application_fee(
    sdk: Any, fake: StripeStandIn, browser: httpx.Client
) -> None:
    account = onboarded_account(sdk, fake)
    options = {"stripe_account": account.id}
    price = sdk.v1.prices.create(
        params={"product_data": {"name": "Setup"}, "unit_amount": 5000, "currency": "usd"},
        options=options,
    )
    session = sdk.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [{"price": price.id, "quantity": 2}],
            "success_url": "https://portal.example/ok",
            "payment_intent_data": {"application_fee_amount": 700},
        },
        options=options,
    )
    browser.post(session.url, data={"card_number": "4242424242424242", "email": "p@example.com"})
    session = sdk.v1.checkout.sessions.retrieve(session.id, options=options)
    assert session.payment_status == "paid"
    intent = sdk.v1.payment_intents.retrieve(session.payment_intent, options=options)
    assert (intent.status, intent.amount, intent.application_fee_amount) == (
        "succeeded",
        10000,
        700,
    )
    assert sdk.v1.application_fees.list().data[0].amount == 700


def test_cancel_link_and_expiry(sdk: Any, plan: Any, fake: StripeStandIn, browser: httpx.Client):
    session = new_session(sdk, plan)
    cancel = browser.get(f"{session.url}/cancel")
    assert cancel.headers["location"] == "https://portal.example/billing"
    fake.advance(days=1, seconds=1)
    assert browser.get(session.url).status_code == 410
    assert sdk.v1.checkout.sessions.retrieve(session.id).status == "expired"


def test_session_validation(sdk: Any, plan: Any) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        sdk.v1.checkout.sessions.create(
            params={"mode": "subscription", "line_items": [{"price": plan.id}]}
        )
    assert caught.value.param == "success_url"
    one_time = sdk.v1.prices.create(
        params={"product_data": {"name": "Once"}, "unit_amount": 100, "currency": "usd"}
    )
    with pytest.raises(stripe.InvalidRequestError) as caught:
        new_session(sdk, one_time)
    assert "recurring price" in str(caught.value.user_message)
    assert sdk.v1.checkout.sessions.list().data == []
