"""Connect: accounts, hosted onboarding through an account link, Stripe-Account scoping,
branding settings and application fees."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from sandbox.stripe.testing import StripeStandIn
from tests.sandbox.stripe.conftest import make_plan, onboarded_account, subscribe


def test_onboarding_link_completes_the_account(
    sdk: Any, fake: StripeStandIn, browser: httpx.Client
) -> None:
    account = sdk.v1.accounts.create(params={"type": "express", "email": "owner@apex.example"})
    assert account.id.startswith("acct_")
    assert (account.charges_enabled, account.payouts_enabled, account.details_submitted) == (
        False,
        False,
        False,
    )
    link = sdk.v1.account_links.create(
        params={
            "account": account.id,
            "type": "account_onboarding",
            "refresh_url": "https://portal.example/refresh",
            "return_url": "https://portal.example/return",
        }
    )
    assert link.object == "account_link" and link.expires_at > link.created
    page = browser.get(link.url)
    assert page.status_code == 200 and "<form" in page.text
    done = browser.post(link.url, data={"business_name": "Apex Growth"})
    assert done.status_code == 303
    assert done.headers["location"] == "https://portal.example/return"
    account = sdk.v1.accounts.retrieve(account.id)
    assert (account.charges_enabled, account.payouts_enabled, account.details_submitted) == (
        True,
        True,
        True,
    )
    assert account.requirements.currently_due == []
    # A used link sends the user to refresh_url for a new one, as Stripe does.
    again = browser.get(link.url)
    assert again.status_code == 303
    assert again.headers["location"] == "https://portal.example/refresh"
    events = sdk.v1.events.list(
        params={"type": "account.updated"}, options={"stripe_account": account.id}
    )
    assert events.data[0].account == account.id
    assert events.data[0].data.previous_attributes.charges_enabled is False


def test_an_expired_link_redirects_to_refresh_url(
    sdk: Any, fake: StripeStandIn, browser: httpx.Client
) -> None:
    account = sdk.v1.accounts.create(params={"type": "express"})
    link = sdk.v1.account_links.create(
        params={
            "account": account.id,
            "type": "account_onboarding",
            "refresh_url": "https://portal.example/refresh",
            "return_url": "https://portal.example/return",
        }
    )
    fake.advance(seconds=301)
    response = browser.post(link.url, data={"business_name": "Late"})
    assert response.headers["location"] == "https://portal.example/refresh"
    assert sdk.v1.accounts.retrieve(account.id).charges_enabled is False


def test_objects_live_per_account(sdk: Any, fake: StripeStandIn) -> None:
    a = onboarded_account(sdk, fake, "Apex")
    b = onboarded_account(sdk, fake, "Bolt")
    customer = sdk.v1.customers.create(
        params={"email": "x@example.com"}, options={"stripe_account": a.id}
    )
    found = sdk.v1.customers.retrieve(customer.id, options={"stripe_account": a.id})
    assert found.id == customer.id
    for options in ({"stripe_account": b.id}, {}):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            sdk.v1.customers.retrieve(customer.id, options=options)
        assert caught.value.http_status == 404
        assert caught.value.code == "resource_missing"
    assert sdk.v1.customers.list(options={"stripe_account": b.id}).data == []
    assert sdk.v1.customers.list().data == []


def test_an_unknown_stripe_account_is_refused(sdk: Any) -> None:
    with pytest.raises(stripe.PermissionError) as caught:
        sdk.v1.customers.list(options={"stripe_account": "acct_doesnotexist"})
    assert caught.value.http_status == 403
    assert "does not have access to account 'acct_doesnotexist'" in str(caught.value.user_message)


def test_an_account_takes_no_payments_before_onboarding(sdk: Any) -> None:
    account = sdk.v1.accounts.create(params={"type": "express"})
    price = make_plan(sdk, account=account.id)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        sdk.v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "line_items": [{"price": price.id, "quantity": 1}],
                "success_url": "https://portal.example/ok",
            },
            options={"stripe_account": account.id},
        )
    assert caught.value.code == "account_invalid"
    assert sdk.v1.checkout.sessions.list(options={"stripe_account": account.id}).data == []


def test_branding_settings_update_and_validate(sdk: Any, fake: StripeStandIn) -> None:
    account = onboarded_account(sdk, fake)
    updated = sdk.v1.accounts.update(
        account.id, params={"settings": {"branding": {"primary_color": "#112233"}}}
    )
    assert updated.settings.branding.primary_color == "#112233"
    assert updated.settings.branding.logo == "https://apex.example/logo.png"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        sdk.v1.accounts.update(
            account.id, params={"settings": {"branding": {"primary_color": "teal"}}}
        )
    assert caught.value.param == "settings[branding][primary_color]"
    assert sdk.v1.accounts.retrieve(account.id).settings.branding.primary_color == "#112233"


def test_application_fee_is_recorded_on_the_platform(sdk: Any, fake: StripeStandIn) -> None:
    account = onboarded_account(sdk, fake)
    price = make_plan(sdk, amount=10_000, account=account.id)
    sub = subscribe(
        sdk, price, account=account.id, application_fee_percent=12.5, expand=["latest_invoice"]
    )
    invoice = sub.latest_invoice
    assert invoice.status == "paid" and invoice.application_fee_amount == 1250
    fees = sdk.v1.application_fees.list()
    assert len(fees.data) == 1
    fee = fees.data[0]
    assert (fee.object, fee.account, fee.amount, fee.currency) == (
        "application_fee",
        account.id,
        1250,
        "usd",
    )
    charge = sdk.v1.charges.retrieve(fee.charge, options={"stripe_account": account.id})
    assert charge.application_fee == fee.id and charge.invoice == invoice.id
    # The connected account cannot list the platform's fees.
    with pytest.raises(stripe.InvalidRequestError):
        sdk.v1.application_fees.list(options={"stripe_account": account.id})
