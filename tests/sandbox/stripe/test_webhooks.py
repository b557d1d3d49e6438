"""Events and their delivery: signed Stripe-Signature (verified with the SDK), endpoint
selection (platform vs Connect), the control API's default endpoint, GET /v1/events."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import stripe

from sandbox.ghl.testing import WebhookReceiver
from sandbox.stripe.testing import StripeStandIn
from tests.sandbox.stripe.conftest import make_plan, onboarded_account, subscribe


def verified(row: dict[str, Any], secret: str) -> Any:
    return stripe.Webhook.construct_event(
        row["body"].decode(), row["headers"]["stripe-signature"], secret
    )


def test_endpoint_events_are_signed(sdk: Any, plan: Any, receiver: WebhookReceiver) -> None:
    endpoint = sdk.v1.webhook_endpoints.create(
        params={
            "url": receiver.url,
            "enabled_events": ["invoice.paid", "customer.subscription.created"],
        }
    )
    assert endpoint.secret.startswith("whsec_")
    assert "secret" not in sdk.v1.webhook_endpoints.retrieve(endpoint.id)
    sub = subscribe(sdk, plan)
    rows = receiver.wait_for(2)
    events = [verified(row, endpoint.secret) for row in rows]
    assert sorted(e.type for e in events) == ["customer.subscription.created", "invoice.paid"]
    assert all("account" not in e for e in events)
    created = next(e for e in events if e.type == "customer.subscription.created")
    assert created.data.object.id == sub.id
    assert created.data.object.status == "active"  # the first payment ran inside the create
    header = rows[0]["headers"]["stripe-signature"]
    assert header.startswith("t=") and ",v1=" in header


def test_a_tampered_or_wrongly_signed_payload_fails_verification(
    sdk: Any, plan: Any, receiver: WebhookReceiver
) -> None:
    endpoint = sdk.v1.webhook_endpoints.create(
        params={"url": receiver.url, "enabled_events": ["*"]}
    )
    sdk.v1.customers.create(params={"email": "w@example.com"})
    row = receiver.wait_for(1)[0]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            row["body"].decode().replace("w@example.com", "x@example.com"),
            row["headers"]["stripe-signature"],
            endpoint.secret,
        )
    with pytest.raises(stripe.SignatureVerificationError):
        verified(row, "whsec_wrong")


def test_connect_endpoints_get_connected_accounts_events(
    sdk: Any, fake: StripeStandIn, receiver: WebhookReceiver
) -> None:
    with WebhookReceiver() as platform_rx:
        connect = sdk.v1.webhook_endpoints.create(
            params={"url": receiver.url, "enabled_events": ["*"], "connect": True}
        )
        sdk.v1.webhook_endpoints.create(params={"url": platform_rx.url, "enabled_events": ["*"]})
        account = onboarded_account(sdk, fake)
        price = make_plan(sdk, account=account.id)
        subscribe(sdk, price, account=account.id)
        sdk.v1.customers.create(params={"email": "platform@example.com"})
        platform_rx.wait_for(1)
        events = [verified(row, connect.secret) for row in receiver.wait_for(4)]
        assert all(e.account == account.id for e in events)
        assert "account.updated" in {e.type for e in events}
        assert {json.loads(r["body"])["type"] for r in platform_rx.received} == {"customer.created"}


def test_the_default_endpoint_gets_everything(
    sdk: Any, fake: StripeStandIn, plan: Any, receiver: WebhookReceiver
) -> None:
    fake.set_webhook(receiver.url, "whsec_test_default")
    sub = subscribe(sdk, plan)
    sdk.v1.subscriptions.cancel(sub.id)
    rows = receiver.wait_for(1, where=lambda r: b"customer.subscription.deleted" in r["body"])
    event = verified(rows[0], "whsec_test_default")
    assert event.data.object.status == "canceled"
    assert event.data.previous_attributes.status == "active"
    delivered = fake.deliveries(type="customer.subscription.deleted")
    assert delivered[0]["status"] in ("delivered", "queued")


def test_events_are_listable_by_type(sdk: Any, plan: Any, fake: StripeStandIn) -> None:
    sub = subscribe(sdk, plan)
    sdk.v1.subscriptions.update(sub.id, params={"metadata": {"k": "v"}})
    fake.fail_payments(customer=sub.customer, count=1)
    fake.advance(days=31)
    failed = sdk.v1.events.list(params={"type": "invoice.payment_failed"}).data
    assert len(failed) == 1 and failed[0].object == "event"
    assert failed[0].data.object.object == "invoice"
    subs = sdk.v1.events.list(params={"type": "customer.subscription.*"}).data
    assert {e.type for e in subs} == {
        "customer.subscription.created",
        "customer.subscription.updated",
    }
    tagged = next(e for e in subs if "metadata" in e.data.to_dict().get("previous_attributes", {}))
    assert tagged.data.object.metadata["k"] == "v"
    event = sdk.v1.events.retrieve(failed[0].id)
    assert event.type == "invoice.payment_failed"


def test_a_failed_delivery_is_retried_with_the_same_event() -> None:
    with (
        StripeStandIn(time_factor=600) as fast,  # the 1-minute retry delay lasts 0.1 s
        WebhookReceiver(statuses=[500, 200]) as rx,
    ):
        fast.set_webhook(rx.url, "whsec_retry")
        fast.client().v1.customers.create(params={"email": "retry@example.com"})
        first, second = rx.wait_for(2)
        assert first["status"] == 500 and second["status"] == 200
        assert verified(first, "whsec_retry").id == verified(second, "whsec_retry").id
        # The receiver records before it answers: wait for the stand-in to see the 200.
        deadline = time.monotonic() + 5
        while fast.deliveries(status="delivered") == [] and time.monotonic() < deadline:
            time.sleep(0.02)
        rows = fast.deliveries(type="customer.created")
        assert (rows[0]["status"], rows[0]["responses"]) == ("delivered", [500, 200])
