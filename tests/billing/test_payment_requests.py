"""A won opportunity (the outbox's "opportunity.won") turned into a payment request and a Stripe
invoice, against the Stripe stand-in: bad amounts and missing e-mails refused before Stripe, the
pipeline filter, duplicates billed once, an account not ready, and Stripe down then back."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from billing.models import PaymentAutomation, PaymentRequest, StripeAccount, StripeEvent
from billing.services.connect import connect_account_refresh
from billing.services.inbox import stripe_event_process
from billing.services.payment_requests import (
    RetryLater,
    minor_units,
    payment_request_send,
    won_events_consume,
)
from sandbox.stripe.testing import StripeStandIn
from tenants.events import OPPORTUNITY_WON, PAYMENT_SUCCEEDED, event_publish
from tenants.models import Location, TenantEvent
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db


@pytest.fixture
def stripe(stripe_standin: StripeStandIn, settings: Any) -> StripeStandIn:
    settings.STRIPE_API_BASE = stripe_standin.base_url
    settings.STRIPE_SECRET_KEY = stripe_standin.api_key
    return stripe_standin


@pytest.fixture
def account(world: World, stripe: StripeStandIn) -> StripeAccount:
    made = stripe.client().v1.accounts.create(params={"type": "express"})
    stripe.onboard(made.id)
    StripeAccount.objects.create(agency=world.a.agency, stripe_account_id=made.id)
    return connect_account_refresh(stripe_account_id=made.id)


@pytest.fixture
def rule(world: World) -> PaymentAutomation:
    return factories.PaymentAutomationFactory(
        location=world.a.locations[0], currency="usd", pipeline_ghl_id="pipe-1"
    )


def won(
    location: Location,
    value: Any = 250,
    email: str = "payer@client.test",
    opportunity: str = "opp-1",
    pipeline: str = "pipe-1",
) -> None:
    event_publish(
        location=location,
        event_type=OPPORTUNITY_WON,
        data={
            "opportunity": {
                "id": opportunity,
                "name": "Roof repair",
                "contact_id": "contact-1",
                "pipeline_id": pipeline,
                "monetary_value": str(value),
            },
            "contact": {"id": "contact-1", "email": email},
        },
    )


def invoices(stripe: StripeStandIn, account: StripeAccount) -> list[Any]:
    found = stripe.client().v1.invoices.list(
        options={"stripe_account": account.stripe_account_id}  # type: ignore[arg-type]
    )
    return list(found.data)


def send_all() -> list[str]:
    return [payment_request_send(request_id=pk) for pk in won_events_consume()]


@pytest.mark.parametrize(
    ("value", "email", "message"),
    [
        (0, "payer@client.test", "no value to bill"),
        (-40, "payer@client.test", "no value to bill"),
        ("lots", "payer@client.test", "no value to bill"),
        (1_000_000_000, "payer@client.test", "above what Stripe accepts"),
        (250, "", "no e-mail address"),
    ],
)
def test_bad_amounts_and_missing_emails_are_refused_before_stripe(
    world: World,
    stripe: StripeStandIn,
    account: StripeAccount,
    rule: PaymentAutomation,
    value: Any,
    email: str,
    message: str,
) -> None:
    won(world.a.locations[0], value=value, email=email)
    assert send_all() == []
    request = PaymentRequest.objects.for_location(world.a.locations[0]).get()
    assert request.status == "failed" and message in request.error
    assert invoices(stripe, account) == []


def test_only_the_rules_pipeline_and_location_are_billed(
    world: World, stripe: StripeStandIn, account: StripeAccount, rule: PaymentAutomation
) -> None:
    won(world.a.locations[0], pipeline="pipe-2")
    factories.PaymentAutomationFactory(location=world.a.locations[1], enabled=False)
    won(world.a.locations[1])  # no enabled rule there: not even recorded
    assert send_all() == []
    assert not PaymentRequest.objects.unscoped().exists()
    assert invoices(stripe, account) == []


def test_a_duplicate_won_event_bills_once(
    world: World, stripe: StripeStandIn, account: StripeAccount, rule: PaymentAutomation
) -> None:
    location = world.a.locations[0]
    won(location, value="99.5")
    won(location, value="99.5")
    assert send_all() == ["sent"]
    assert won_events_consume() == []  # every event claimed already
    won(location, value="99.5")  # reopened and won again later
    assert send_all() == []
    request = PaymentRequest.objects.for_location(location).get()
    assert (request.amount, request.application_fee_amount) == (9950, 995)
    [invoice] = invoices(stripe, account)
    assert (invoice.amount_due, invoice.application_fee_amount, invoice.currency) == (
        9950,
        995,
        "usd",
    )
    assert invoice.metadata["payment_request_id"] == str(request.pk)


def test_an_account_that_cannot_take_payments_fails_the_request(
    world: World, stripe: StripeStandIn, rule: PaymentAutomation
) -> None:
    StripeAccount.objects.create(agency=world.a.agency, stripe_account_id="acct_notready")
    won(world.a.locations[0])
    assert send_all() == ["failed"]
    request = PaymentRequest.objects.for_location(world.a.locations[0]).get()
    assert "cannot take payments yet" in request.error


def test_stripe_down_keeps_the_request_pending_and_the_retry_makes_one_invoice(
    world: World,
    stripe: StripeStandIn,
    account: StripeAccount,
    rule: PaymentAutomation,
    settings: Any,
) -> None:
    won(world.a.locations[0])
    [request_id] = won_events_consume()
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    with pytest.raises(RetryLater):
        payment_request_send(request_id=request_id)
    assert PaymentRequest.objects.unscoped().get(pk=request_id).status == "pending"
    settings.STRIPE_API_BASE = stripe.base_url
    assert payment_request_send(request_id=request_id) == "sent"
    assert payment_request_send(request_id=request_id) == "sent"  # already sent: nothing more
    assert len(invoices(stripe, account)) == 1


def test_minor_units_follow_the_currency() -> None:
    assert minor_units("1200", "aed") == 120000
    assert minor_units(Decimal("19.995"), "usd") == 2000
    assert minor_units("1200", "jpy") == 1200
    assert minor_units("NaN", "usd") is None and minor_units(None, "usd") is None


def _connect_event(account: StripeAccount, event_type: str, invoice_id: str) -> int:
    body = {
        "id": f"evt_{event_type}_{invoice_id}",
        "type": event_type,
        "account": account.stripe_account_id,
        "data": {"object": {"id": invoice_id, "object": "invoice"}},
    }
    return StripeEvent.objects.create(
        source=StripeEvent.Source.CONNECT,
        event_id=body["id"],
        event_type=event_type,
        account=account.stripe_account_id,
        object_id=invoice_id,
        body=json.dumps(body).encode(),
    ).pk


def test_a_voided_invoice_voids_the_request_and_another_one_off_invoice_is_not_ours(
    world: World, stripe: StripeStandIn, account: StripeAccount, rule: PaymentAutomation
) -> None:
    won(world.a.locations[0])
    assert send_all() == ["sent"]
    request = PaymentRequest.objects.for_location(world.a.locations[0]).get()
    on_account = {"stripe_account": account.stripe_account_id}
    sdk = stripe.client()
    sdk.v1.invoices.void_invoice(request.stripe_object_id, options=on_account)  # type: ignore[arg-type]
    voided = _connect_event(account, "invoice.voided", request.stripe_object_id)
    assert stripe_event_process(event_pk=voided) == "succeeded"
    request.refresh_from_db()
    assert request.status == "void"
    assert StripeEvent.objects.get(pk=voided).last_error == ""

    customer = sdk.v1.customers.create(params={"email": "x@y.test"}, options=on_account)  # type: ignore[arg-type]
    other = sdk.v1.invoices.create(
        params={"customer": customer.id, "collection_method": "send_invoice", "days_until_due": 3},
        options=on_account,  # type: ignore[arg-type]
    )
    foreign = _connect_event(account, "invoice.paid", other.id)
    assert stripe_event_process(event_pk=foreign) == "succeeded"
    assert PaymentRequest.objects.unscoped().count() == 1
    assert not TenantEvent.objects.unscoped().filter(type=PAYMENT_SUCCEEDED).exists()
