"""R3: the events of a subscription's lifecycle, delivered in every order, end in the same state
— Stripe's — because handlers re-read the object from Stripe instead of trusting the payload or
the arrival order. And processing (retries, dead letters, replay) of the inbox."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from billing.models import Plan, StripeAccount, StripeEvent, Subscription
from billing.services.inbox import MAX_ATTEMPTS, stripe_event_process, stripe_event_replay
from tenants.models import AuditLogEntry, LocationEntitlements
from tests.billing.stripe_wire import StripeWire, event, signed
from tests.conftest import World

CONNECT = "/billing/stripe/connect-webhooks"
ACCOUNT = "acct_AgencyA0000001"
PERIOD_END = 1_800_000_000

# (event type, status of the subscription in the event's snapshot) per lifecycle; the last
# status is what Stripe holds once all of them happened.
LIFECYCLES = {
    "canceled": [
        ("customer.subscription.created", "trialing"),
        ("customer.subscription.updated", "active"),
        ("invoice.payment_failed", "past_due"),
        ("invoice.paid", "active"),
        ("customer.subscription.deleted", "canceled"),
    ],
    "active": [
        ("customer.subscription.created", "incomplete"),
        ("customer.subscription.updated", "trialing"),
        ("invoice.payment_failed", "past_due"),
        ("customer.subscription.updated", "past_due"),
        ("invoice.paid", "active"),
    ],
}
EXPECTED_ENTITLEMENTS = {"canceled": "paused", "active": "active"}


def _lifecycle(
    wire: StripeWire, plan: Plan, location_pk: int, name: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Stripe's final subscription, and the five event envelopes (with their stale snapshots)."""
    price = wire.objects[plan.stripe_price_id]
    meta = {"location_id": str(location_pk), "plan_id": str(plan.pk)}
    steps = LIFECYCLES[name]
    final = wire.subscription(
        customer="cus_T1",
        price=price,
        status=steps[-1][1],
        metadata=meta,
        fee=10.0,
        period_end=PERIOD_END,
    )
    wire.put(final, ACCOUNT)
    envelopes = []
    for n, (event_type, status) in enumerate(steps):
        if event_type.startswith("invoice."):
            paid = event_type == "invoice.paid"
            invoice_id = wire.invoice(
                subscription=final, status="paid" if paid else "open", account=ACCOUNT
            )
            snapshot = dict(wire.objects[invoice_id])
        else:
            snapshot = {**final, "status": status}
        envelopes.append(event(event_type, snapshot, account=ACCOUNT, event_id=f"evt_{name}_{n}"))
    return final, envelopes


def _deliver(client: Client, payload: dict[str, Any], capture: Any, *, suffix: str = "") -> int:
    payload = {**payload, "id": payload["id"] + suffix}
    body, signature = signed(payload, "whsec_test_connect")
    with capture(execute=True):  # processed as a worker would, right after the commit
        response = client.post(
            CONNECT, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
        )
    return int(response.status_code)


@pytest.mark.parametrize("name", sorted(LIFECYCLES))
def test_every_delivery_order_ends_in_stripes_state(
    world: World,
    plan: Plan,
    stripe_wire: StripeWire,
    platform_client: Callable[..., Client],
    django_capture_on_commit_callbacks: Any,
    name: str,
) -> None:
    location = world.a.locations[0]
    final, envelopes = _lifecycle(stripe_wire, plan, location.pk, name)
    client = platform_client()
    outcomes = set()
    orders = list(itertools.permutations(range(len(envelopes))))
    assert len(orders) == 120
    for n, order in enumerate(orders):
        Subscription.objects.for_location(location).delete()
        LocationEntitlements.objects.for_location(location).delete()
        for i in order:
            status = _deliver(
                client, envelopes[i], django_capture_on_commit_callbacks, suffix=f"_{n}"
            )
            assert status == 200
        subscription = Subscription.objects.for_location(location).get()
        entitlements = LocationEntitlements.objects.for_location(location).get()
        outcomes.add(
            (
                subscription.stripe_subscription_id,
                subscription.status,
                int(subscription.current_period_end.timestamp()),  # type: ignore[union-attr]
                subscription.plan_id,
                subscription.stripe_customer_id,
                entitlements.state,
                tuple(sorted(entitlements.granted.items())),
            )
        )
    assert not StripeEvent.objects.exclude(status="succeeded").exists()
    assert outcomes == {
        (
            final["id"],
            final["status"],
            PERIOD_END,
            plan.pk,
            "cus_T1",
            EXPECTED_ENTITLEMENTS[name],
            tuple(sorted(plan.entitlements.items())),
        )
    }


def test_a_duplicate_delivery_has_one_effect(
    world: World,
    plan: Plan,
    stripe_wire: StripeWire,
    platform_client: Callable[..., Client],
    django_capture_on_commit_callbacks: Any,
) -> None:
    location = world.a.locations[0]
    _, envelopes = _lifecycle(stripe_wire, plan, location.pk, "canceled")
    client = platform_client()
    for _ in range(3):
        assert _deliver(client, envelopes[0], django_capture_on_commit_callbacks) == 200
    assert StripeEvent.objects.count() == 1
    assert StripeEvent.objects.get().attempts == 1
    fetches = [c for c in stripe_wire.calls if c.method == "GET"]
    assert len(fetches) == 1
    changes = AuditLogEntry.objects.for_agency(world.a.agency).filter(
        action="location.entitlements_changed"
    )
    assert changes.count() == 1


def test_an_event_of_an_account_that_is_not_ours_touches_nothing(
    world: World,
    stripe_wire: StripeWire,
    ready_account: StripeAccount,
    platform_client: Callable[..., Client],
    django_capture_on_commit_callbacks: Any,
) -> None:
    # A subscription on agency B's account naming agency A's location: refused.
    sub = stripe_wire.subscription(
        customer="cus_x",
        price={"id": "price_x"},
        status="active",
        metadata={"location_id": str(world.a.locations[0].pk)},
    )
    stripe_wire.put(sub, "acct_Stranger000001")
    payload = event("customer.subscription.updated", sub, account="acct_Stranger000001")
    assert _deliver(platform_client(), payload, django_capture_on_commit_callbacks) == 200
    row = StripeEvent.objects.get()
    # Retried (the account's row might be about to commit), then left as a dead letter.
    assert row.status == "dead" and row.attempts == MAX_ATTEMPTS
    assert "No agency has the Stripe account" in row.last_error
    assert not Subscription.objects.unscoped().exists()


def test_stripe_down_is_retried_then_dead_lettered_then_replayed(
    world: World, plan: Plan, stripe_wire: StripeWire
) -> None:
    location = world.a.locations[0]
    final, envelopes = _lifecycle(stripe_wire, plan, location.pk, "canceled")
    body, _ = signed(envelopes[4], "whsec_test_connect")
    row = StripeEvent.objects.create(
        source="connect",
        event_id="evt_down",
        event_type="customer.subscription.deleted",
        account=ACCOUNT,
        body=body,
    )
    path = f"GET /v1/subscriptions/{final['id']}"
    stripe_wire.down[path] = 503
    # Tasks run eagerly here, so each retry follows at once (a worker waits out BACKOFF).
    assert stripe_event_process(event_pk=row.pk) == "failed"
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("dead", MAX_ATTEMPTS)
    assert "503" in row.last_error or "Simulated failure" in row.last_error
    assert len([c for c in stripe_wire.calls if c.path.endswith(final["id"])]) == MAX_ATTEMPTS
    assert stripe_event_process(event_pk=row.pk) is None  # dead: only a replay runs it
    assert not Subscription.objects.for_location(location).exists()

    del stripe_wire.down[path]

    assert stripe_event_replay(event_pk=row.pk) == "succeeded"
    assert Subscription.objects.for_location(location).get().status == "canceled"


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_and_duplicate_deliveries_end_in_stripes_state(
    world: World, plan: Plan, stripe_wire: StripeWire
) -> None:
    """All five events, each delivered twice, at once from ten threads: each stored once,
    processed once, one subscription, Stripe's state."""
    import threading

    from django.db import connection

    location = world.a.locations[0]
    final, envelopes = _lifecycle(stripe_wire, plan, location.pk, "canceled")
    deliveries = [signed(e, "whsec_test_connect") for e in envelopes] * 2
    start = threading.Barrier(len(deliveries))
    statuses: list[int] = []

    def deliver(body: bytes, signature: str) -> None:
        try:
            start.wait()
            response = Client(HTTP_HOST="localhost").post(
                CONNECT, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=d) for d in deliveries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 10
    assert sorted(StripeEvent.objects.values_list("status", "attempts")) == [("succeeded", 1)] * 5
    subscription = Subscription.objects.for_location(location).get()
    assert (subscription.stripe_subscription_id, subscription.status) == (final["id"], "canceled")
    assert LocationEntitlements.objects.for_location(location).get().state == "paused"
