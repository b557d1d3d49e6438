"""Dunning: a failed payment opens a grace period with branded reminders, then the location's
features pause (its data stays), and a payment restores them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core import mail
from django.test import override_settings
from django.utils import timezone

from billing.models import Plan, Subscription
from billing.services.dunning import subscriptions_dunning_run
from billing.services.subscriptions import subscription_create, subscription_refresh
from tenants import selectors
from tenants.models import AuditLogEntry, LocationEntitlements
from tests.billing.stripe_wire import StripeWire
from tests.conftest import World

ACCOUNT = "acct_AgencyA0000001"


def _subscribed(world: World, plan: Plan) -> Subscription:
    return subscription_create(
        location=world.a.locations[0], plan=plan, email="c@a.test", acting_user=None
    )


def _stripe_says(
    wire: StripeWire, subscription: Subscription, status: str, capture: Any
) -> Subscription:
    wire.objects[subscription.stripe_subscription_id]["status"] = status
    with capture(execute=True):
        refreshed = subscription_refresh(
            account=ACCOUNT, subscription_id=subscription.stripe_subscription_id
        )
    assert refreshed is not None
    return refreshed


@override_settings(BILLING_GRACE_DAYS=7)
def test_past_due_grace_reminders_pause_and_restore(
    world: World, plan: Plan, stripe_wire: StripeWire, django_capture_on_commit_callbacks: Any
) -> None:
    location = world.a.locations[0]
    subscription = _subscribed(world, plan)
    assert selectors.location_entitlements(location) == plan.entitlements

    subscription = _stripe_says(
        stripe_wire, subscription, "past_due", django_capture_on_commit_callbacks
    )
    grace_until = subscription.grace_until
    assert grace_until is not None
    assert timedelta(days=6, hours=23) < grace_until - timezone.now() <= timedelta(days=7)
    record = LocationEntitlements.objects.for_location(location).get()
    assert record.state == "grace"
    assert selectors.location_entitlements(location) == plan.entitlements  # still working

    # The reminder: to the client's admin, under the agency's brand, linking to its domain.
    (reminder,) = mail.outbox
    assert reminder.to == ["client_admin@a.test"]
    assert reminder.subject.startswith("Brand A:")
    assert reminder.from_email.startswith("Brand A <")
    assert f"://{world.a.domain}" in reminder.body
    assert "Leadwise" not in reminder.body + reminder.subject
    # Seeing past_due again neither restarts the grace nor sends another reminder at once.
    subscription = _stripe_says(
        stripe_wire, subscription, "past_due", django_capture_on_commit_callbacks
    )
    assert subscription.grace_until == grace_until
    assert len(mail.outbox) == 1

    # Two days on, the periodic run reminds again; after the grace, it pauses.
    assert subscriptions_dunning_run(now=timezone.now() + timedelta(days=2, hours=1)) == {
        "paused": 0,
        "reminded": 1,
    }
    assert len(mail.outbox) == 2
    assert subscriptions_dunning_run(now=grace_until + timedelta(minutes=1)) == {
        "paused": 1,
        "reminded": 0,
    }
    record.refresh_from_db()
    assert record.state == "paused"
    assert record.granted == plan.entitlements  # kept, only suspended
    assert selectors.location_entitlements(location) == {}
    assert Subscription.objects.for_location(location).exists()  # nothing deleted
    assert subscriptions_dunning_run(now=grace_until + timedelta(minutes=2)) == {
        "paused": 0,  # already paused: not touched again
        "reminded": 0,
    }
    paused_audits = AuditLogEntry.objects.for_agency(world.a.agency).filter(
        action="location.entitlements_changed", changes__state=["grace", "paused"]
    )
    assert paused_audits.count() == 1

    # Paid: everything is back, the grace is closed.
    subscription = _stripe_says(
        stripe_wire, subscription, "active", django_capture_on_commit_callbacks
    )
    assert subscription.grace_until is None
    assert selectors.location_entitlements(location) == plan.entitlements


def test_a_canceled_subscription_pauses_features_without_deleting(
    world: World, plan: Plan, stripe_wire: StripeWire, django_capture_on_commit_callbacks: Any
) -> None:
    location = world.a.locations[0]
    subscription = _subscribed(world, plan)
    _stripe_says(stripe_wire, subscription, "canceled", django_capture_on_commit_callbacks)
    assert selectors.location_entitlements(location) == {}
    record = LocationEntitlements.objects.for_location(location).get()
    assert (record.state, record.granted) == ("paused", plan.entitlements)
    assert mail.outbox == []


def test_the_other_agencys_locations_are_untouched(
    world: World, plan: Plan, stripe_wire: StripeWire, django_capture_on_commit_callbacks: Any
) -> None:
    subscription = _subscribed(world, plan)
    _stripe_says(stripe_wire, subscription, "past_due", django_capture_on_commit_callbacks)
    subscriptions_dunning_run(now=timezone.now() + timedelta(days=30))
    for location in [*world.b.locations, world.a.locations[1]]:
        assert not LocationEntitlements.objects.for_location(location).exists()


def test_the_reminder_link_opens_stripes_portal_on_the_agencys_account(
    world: World,
    plan: Plan,
    stripe_wire: StripeWire,
    agency_client: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    location = world.a.locations[0]
    subscription = _subscribed(world, plan)
    _stripe_says(stripe_wire, subscription, "past_due", django_capture_on_commit_callbacks)
    (reminder,) = mail.outbox
    link = f"http://{world.a.domain}/billing/portal/{location.pk}/"
    assert link in reminder.body

    response = agency_client(world.a, world.a.client_admin).get(link)
    assert response.status_code == 302
    assert response["Location"].startswith("https://billing.stripe.com/p/session/")
    (call,) = stripe_wire.creates("/v1/billing_portal/sessions")
    assert call.account == ACCOUNT
    assert call.form["customer"] == subscription.stripe_customer_id
    assert call.form["return_url"] == f"http://{world.a.domain}/app/l/{location.pk}/billing/"
    # A client member, or another agency's owner, gets nothing.
    assert agency_client(world.a, world.a.client_member).get(link).status_code == 404
    assert agency_client(world.a, world.a.owner).get(link).status_code == 302
