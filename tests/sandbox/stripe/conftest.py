"""Fixtures for the Stripe stand-in tests: the official SDK aimed at the stand-in, a plan,
a connected account, and a hosted-page browser (plain httpx, no redirects followed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.ghl.testing import WebhookReceiver
from sandbox.stripe.testing import StripeStandIn


@pytest.fixture
def fake(stripe_standin: StripeStandIn) -> StripeStandIn:
    return stripe_standin


@pytest.fixture
def sdk(fake: StripeStandIn) -> Any:
    return fake.client()


@pytest.fixture
def browser(fake: StripeStandIn) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30, trust_env=False, follow_redirects=False) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as rx:
        yield rx


def make_plan(
    sdk: Any,
    amount: int = 3000,
    name: str = "Growth",
    account: str | None = None,
    interval: str = "month",
) -> Any:
    options = {"stripe_account": account} if account else {}
    product = sdk.v1.products.create(params={"name": name}, options=options)
    return sdk.v1.prices.create(
        params={
            "product": product.id,
            "unit_amount": amount,
            "currency": "usd",
            "recurring": {"interval": interval},
        },
        options=options,
    )


@pytest.fixture
def plan(sdk: Any) -> Any:
    return make_plan(sdk)


def onboarded_account(sdk: Any, fake: StripeStandIn, name: str = "Apex Growth") -> Any:
    account = sdk.v1.accounts.create(
        params={
            "type": "express",
            "business_profile": {"name": name},
            "settings": {
                "branding": {"primary_color": "#0a7d55", "logo": "https://apex.example/logo.png"}
            },
        }
    )
    fake.onboard(account.id)
    return sdk.v1.accounts.retrieve(account.id)


def subscribe(
    sdk: Any, price: Any, card: str = "pm_card_visa", account: str | None = None, **params: Any
) -> Any:
    options = {"stripe_account": account} if account else {}
    customer = sdk.v1.customers.create(
        params={
            "email": "client@example.com",
            "payment_method": card,
            "invoice_settings": {"default_payment_method": card},
        },
        options=options,
    )
    return sdk.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": price.id}], **params},
        options=options,
    )
