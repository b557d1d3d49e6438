"""A location with several subscriptions (an old one canceled, a newer one active or overdue):
its entitlements follow its *governing* subscription — one holding a plan, else the newest —
whatever order Stripe's events about them arrive in; dunning (grace, pause, reminders) acts for
the governing one only. The agency side shares the rule."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test import Client, override_settings
from django.utils import timezone

from billing.agency_selectors import agency_billing_overview
from billing.models import AgencySubscription, Plan, StripeEvent, Subscription
from billing.selectors import location_billing_overview
from billing.services.agency_dunning import agency_subscription_reminder_send
from billing.services.dunning import location_entitlements_sync, subscriptions_dunning_run
from billing.services.plans import plan_save
from tenants.models import Location, LocationEntitlements
from tests.billing.stripe_wire import StripeWire, event, signed
from tests.conftest import World

CONNECT = "/billing/stripe/connect-webhooks"
ACCOUNT = "acct_AgencyA0000001"
STARTER = {"routing": True, "reports": False, "seats": 1, "contact_limit": 100}


@pytest.fixture
def starter(world: World, plan: Plan) -> Plan:
    """A second plan of agency A, granting less than `plan` (Growth)."""
    return plan_save(
        agency=world.a.agency,
        data={"name": "Starter", "amount": 1900, "currency": "usd", "entitlements": STARTER},
        acting_user=world.a.owner,
    )


def _stripe_holds(wire: StripeWire, plan: Plan, location: Location, status: str) -> dict[str, Any]:
    sub = wire.subscription(
        customer="cus_T1",
        price=wire.objects[plan.stripe_price_id],
        status=status,
        metadata={"location_id": str(location.pk), "plan_id": str(plan.pk)},
        fee=10.0,
    )
    wire.put(sub, ACCOUNT)
    return sub


def _deliver(client: Client, payload: dict[str, Any], capture: Any, suffix: str = "") -> None:
    payload = {**payload, "id": payload["id"] + suffix}
    body, signature = signed(payload, "whsec_test_connect")
    with capture(execute=True):  # processed as a worker would, right after the commit
        response = client.post(
            CONNECT, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
        )
    assert response.status_code == 200


def _entitlements(location: Location) -> tuple[str, dict[str, Any]]:
    record = LocationEntitlements.objects.for_location(location).get()
    return record.state, record.granted


def test_a_late_event_of_the_old_canceled_subscription_does_not_pause_the_new_one(
    world: World,
    plan: Plan,
    starter: Plan,
    stripe_wire: StripeWire,
    platform_client: Callable[..., Client],
    django_capture_on_commit_callbacks: Any,
) -> None:
    location = world.a.locations[0]
    old = _stripe_holds(stripe_wire, starter, location, "canceled")
    new = _stripe_holds(stripe_wire, plan, location, "active")
    client = platform_client()
    capture = django_capture_on_commit_callbacks
    _deliver(client, event("customer.subscription.created", new, account=ACCOUNT), capture)
    assert _entitlements(location) == ("active", plan.entitlements)
    # The old one's deletion, late (or replayed from the admin), is processed last.
    _deliver(client, event("customer.subscription.deleted", old, account=ACCOUNT), capture)
    assert Subscription.objects.for_location(location).count() == 2
    assert _entitlements(location) == ("active", plan.entitlements)
    assert not StripeEvent.objects.exclude(status="succeeded").exists()
    # Another location of the agency is untouched.
    assert not LocationEntitlements.objects.for_location(world.a.locations[1]).exists()


@pytest.mark.parametrize("new_status", ["active", "past_due", "canceled"])
def test_events_of_two_subscriptions_in_any_order_end_the_same(
    world: World,
    plan: Plan,
    starter: Plan,
    stripe_wire: StripeWire,
    platform_client: Callable[..., Client],
    django_capture_on_commit_callbacks: Any,
    new_status: str,
) -> None:
    location = world.a.locations[0]
    old = _stripe_holds(stripe_wire, starter, location, "canceled")
    new = _stripe_holds(stripe_wire, plan, location, new_status)
    # The invoice event re-reads an invoice of the old subscription, then the subscription.
    invoice_id = stripe_wire.invoice(subscription=old, status="open", account=ACCOUNT)
    envelopes = [
        event("customer.subscription.created", {**old, "status": "active"}, account=ACCOUNT),
        event("invoice.payment_failed", stripe_wire.objects[invoice_id], account=ACCOUNT),
        event("customer.subscription.deleted", old, account=ACCOUNT),
        event("customer.subscription.updated", {**new, "status": "trialing"}, account=ACCOUNT),
    ]
    client = platform_client()
    outcomes = set()
    orders = list(itertools.permutations(range(len(envelopes))))
    for n, order in enumerate(orders):
        Subscription.objects.for_location(location).delete()
        LocationEntitlements.objects.for_location(location).delete()
        for i in order:
            _deliver(client, envelopes[i], django_capture_on_commit_callbacks, f"_{n}")
        state, granted = _entitlements(location)
        outcomes.add((state, tuple(sorted(granted.items()))))
    expected = {
        # The new one holds a plan, so it governs whichever row was written first.
        "active": ("active", plan.entitlements),
        "past_due": ("grace", plan.entitlements),
        # Neither holds a plan: the newest (by our rows) governs, so only the state is fixed.
        "canceled": None,
    }[new_status]
    if expected is None:
        assert {state for state, _ in outcomes} == {"paused"}
    else:
        assert outcomes == {(expected[0], tuple(sorted(expected[1].items())))}
    assert not StripeEvent.objects.exclude(status="succeeded").exists()


@override_settings(BILLING_GRACE_DAYS=7)
def test_the_governing_subscription_still_goes_through_grace_pause_and_restore(
    world: World,
    plan: Plan,
    starter: Plan,
    stripe_wire: StripeWire,
    platform_client: Callable[..., Client],
    django_capture_on_commit_callbacks: Any,
) -> None:
    location = world.a.locations[0]
    client = platform_client()
    capture = django_capture_on_commit_callbacks
    old = _stripe_holds(stripe_wire, starter, location, "canceled")
    _deliver(client, event("customer.subscription.deleted", old, account=ACCOUNT), capture)
    assert _entitlements(location) == ("paused", STARTER)
    new = _stripe_holds(stripe_wire, plan, location, "past_due")
    _deliver(client, event("customer.subscription.updated", new, account=ACCOUNT), capture)
    governing = Subscription.objects.for_location(location).get(stripe_subscription_id=new["id"])
    assert governing.grace_until is not None
    assert _entitlements(location) == ("grace", plan.entitlements)
    (reminder,) = mail.outbox  # about the governing one, to the client's admin
    assert reminder.to == ["client_admin@a.test"]

    # The old one's event again (a replay): nothing changes.
    _deliver(client, event("customer.subscription.deleted", old, account=ACCOUNT), capture, "_2")
    assert _entitlements(location) == ("grace", plan.entitlements)

    assert subscriptions_dunning_run(now=governing.grace_until + timedelta(minutes=1)) == {
        "paused": 1,
        "reminded": 0,
    }
    assert _entitlements(location) == ("paused", plan.entitlements)

    stripe_wire.objects[new["id"]]["status"] = "active"
    invoice_id = stripe_wire.invoice(subscription=new, status="paid", account=ACCOUNT)
    _deliver(
        client, event("invoice.paid", stripe_wire.objects[invoice_id], account=ACCOUNT), capture
    )
    assert _entitlements(location) == ("active", plan.entitlements)
    assert len(mail.outbox) == 1


@override_settings(BILLING_GRACE_DAYS=7)
def test_an_overdue_subscription_that_does_not_govern_sends_no_reminder_and_pauses_nothing(
    world: World,
    plan: Plan,
    starter: Plan,
    stripe_wire: StripeWire,
    platform_client: Callable[..., Client],
    django_capture_on_commit_callbacks: Any,
) -> None:
    # Two subscriptions holding a plan at once (one created before checkout refused a second):
    # the newer one governs; the older one falling overdue is Stripe's dunning, not ours.
    location = world.a.locations[0]
    client = platform_client()
    capture = django_capture_on_commit_callbacks
    old = _stripe_holds(stripe_wire, starter, location, "active")
    _deliver(client, event("customer.subscription.created", old, account=ACCOUNT), capture)
    new = _stripe_holds(stripe_wire, plan, location, "active")
    _deliver(client, event("customer.subscription.created", new, account=ACCOUNT), capture)
    stripe_wire.objects[old["id"]]["status"] = "past_due"
    _deliver(client, event("customer.subscription.updated", old, account=ACCOUNT), capture)

    overdue = Subscription.objects.for_location(location).get(stripe_subscription_id=old["id"])
    assert overdue.status == "past_due" and overdue.grace_until is not None
    assert _entitlements(location) == ("active", plan.entitlements)
    assert mail.outbox == []
    later = overdue.grace_until + timedelta(minutes=1)
    assert subscriptions_dunning_run(now=overdue.grace_until - timedelta(hours=1)) == {
        "paused": 0,
        "reminded": 0,
    }
    assert subscriptions_dunning_run(now=later) == {"paused": 0, "reminded": 0}
    assert _entitlements(location) == ("active", plan.entitlements)
    assert mail.outbox == []

    # Once the newer one is canceled, the overdue one governs: its grace (already over) counts.
    stripe_wire.objects[new["id"]]["status"] = "canceled"
    _deliver(client, event("customer.subscription.deleted", new, account=ACCOUNT), capture)
    assert location_entitlements_sync(location=location, now=later) == "paused"
    assert _entitlements(location) == ("paused", STARTER)


def test_the_agency_side_sends_no_reminder_for_a_subscription_that_does_not_govern(
    world: World,
) -> None:
    agency = world.a.agency
    grace_until = timezone.now() + timedelta(days=3)
    overdue = AgencySubscription.objects.create(
        agency=agency, stripe_subscription_id="sub_old", status="past_due", grace_until=grace_until
    )
    newer = AgencySubscription.objects.create(
        agency=agency, stripe_subscription_id="sub_new", status="active"
    )
    assert agency_subscription_reminder_send(subscription_pk=overdue.pk) == 0
    assert mail.outbox == []
    newer.status = "canceled"
    newer.save()
    assert agency_subscription_reminder_send(subscription_pk=overdue.pk) >= 1
    assert len(mail.outbox) == 1


def test_the_billing_pages_show_the_governing_subscription(world: World, plan: Plan) -> None:
    """A newer subscription that does not govern (canceled, or a checkout that never completed)
    does not hide the one the entitlements follow: no "choose a plan" beside an active plan."""
    location = world.a.locations[0]
    rows = [
        ("sub_active", "active"),
        ("sub_canceled", "canceled"),
        ("sub_unfinished", "incomplete"),
    ]
    for stripe_id, status in rows:
        Subscription.objects.create(
            location=location,
            plan=plan,
            stripe_account_id=ACCOUNT,
            stripe_subscription_id=stripe_id,
            status=status,
        )
        AgencySubscription.objects.create(
            agency=world.a.agency, stripe_subscription_id=f"agency_{stripe_id}", status=status
        )
    overview = location_billing_overview(location=location)
    assert overview.subscription is not None and overview.holds_plan
    assert overview.subscription.stripe_subscription_id == "sub_active"
    agency_overview = agency_billing_overview(agency=world.a.agency)
    assert agency_overview.subscription is not None and agency_overview.holds_plan
    assert agency_overview.subscription.stripe_subscription_id == "agency_sub_active"
    # Only a checkout that never completed: it is shown (the latest), holding nothing.
    other = world.a.locations[1]
    Subscription.objects.create(
        location=other,
        plan=plan,
        stripe_account_id=ACCOUNT,
        stripe_subscription_id="sub_other",
        status="incomplete",
    )
    shown = location_billing_overview(location=other).subscription
    assert shown is not None and shown.stripe_subscription_id == "sub_other"


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_syncs_of_one_location_wait_for_each_other(world: World, plan: Plan, starter: Plan) -> None:
    """A second worker recomputing the same location waits for the first to commit, then reads
    what it committed; without the lock it would read the old rows at once and, once the first
    commits, overwrite its entitlements with the old plan's."""
    location = world.a.locations[0]
    old = Subscription.objects.create(
        location=location,
        plan=starter,
        stripe_account_id=ACCOUNT,
        stripe_subscription_id="sub_old",
        status="active",
    )
    entered = threading.Event()
    finished: list[str | None] = []

    def second_worker() -> None:
        try:
            entered.set()
            finished.append(location_entitlements_sync(location=location))
        finally:
            connection.close()

    with transaction.atomic():
        Subscription.objects.for_location(location).filter(pk=old.pk).update(status="canceled")
        Subscription.objects.create(
            location=location,
            plan=plan,
            stripe_account_id=ACCOUNT,
            stripe_subscription_id="sub_new",
            status="active",
        )
        assert location_entitlements_sync(location=location) == "active"
        worker = threading.Thread(target=second_worker)
        worker.start()
        entered.wait(5)
        worker.join(1)
        assert worker.is_alive()
    worker.join(10)
    assert finished == ["active"]
    assert _entitlements(location) == ("active", plan.entitlements)
