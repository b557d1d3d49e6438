"""What each Stripe event type does. Never trust the payload or the arrival order: each handler
re-reads the object from Stripe (on the event's connected account) and applies what Stripe says
now, under a lock per object so two workers cannot interleave a read and a write."""

from __future__ import annotations

from typing import Any

import stripe
from django.db import transaction

from saas_platform.kernel.errors import NotFound
from saas_platform.kernel.locks import transaction_lock

from . import stripe_api
from .models import StripeEvent, Subscription
from .services.agency_subscriptions import agency_subscription_refresh
from .services.checkout import checkout_session_subscription
from .services.connect import connect_account_refresh
from .services.inbox import RetryLater, register
from .services.payment_requests import payment_request_refresh
from .services.subscriptions import invoice_revenue_record, subscription_refresh

SUBSCRIPTION_EVENTS = (
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "customer.subscription.trial_will_end",
)
INVOICE_EVENTS = (
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.payment_succeeded",
    "invoice.payment_action_required",
    "invoice.marked_uncollectible",
    "invoice.voided",
)


def _sync_subscription(event: StripeEvent, subscription_id: str) -> str:
    if event.source == StripeEvent.Source.PLATFORM:
        return _sync_agency_subscription(subscription_id)
    subscription = _synced(event, subscription_id)
    if subscription is None:
        return "not a client subscription"
    return f"subscription {subscription.stripe_subscription_id}: {subscription.status}"


def _synced(event: StripeEvent, subscription_id: str) -> Subscription | None:
    if event.source != StripeEvent.Source.CONNECT:
        return None  # the platform's own subscriptions (agencies') are not tracked yet
    try:
        with transaction.atomic():
            transaction_lock(f"stripe-sub:{subscription_id}")
            subscription = subscription_refresh(
                account=event.account, subscription_id=subscription_id
            )
    except NotFound as exc:  # the account's row may not be committed yet
        raise RetryLater(exc.message) from exc
    except stripe_api.StripeCallError as exc:
        if exc.retryable:
            raise RetryLater(exc.message) from exc
        raise
    return subscription


def _sync_agency_subscription(subscription_id: str) -> str:
    """A subscription on the platform account: an agency's to one of the platform's plans."""
    try:
        with transaction.atomic():
            transaction_lock(f"stripe-sub:{subscription_id}")
            subscription = agency_subscription_refresh(subscription_id=subscription_id)
    except stripe_api.StripeCallError as exc:
        if exc.retryable:
            raise RetryLater(exc.message) from exc
        raise
    if subscription is None:
        return "not an agency subscription"
    return f"agency subscription {subscription.stripe_subscription_id}: {subscription.status}"


@register(*SUBSCRIPTION_EVENTS)
def subscription_changed(event: StripeEvent, payload: dict[str, Any]) -> str:
    return _sync_subscription(event, str(payload["data"]["object"]["id"]))


def _invoice_subscription(invoice: Any) -> str:
    # Since API 2025-03-31 an invoice names its subscription under `parent`.
    found = stripe_api.value(invoice, "parent", "subscription_details", "subscription") or (
        stripe_api.value(invoice, "subscription")
    )
    if found is None:
        return ""
    return str(found if isinstance(found, str) else stripe_api.value(found, "id", default=""))


@register(*INVOICE_EVENTS)
def invoice_changed(event: StripeEvent, payload: dict[str, Any]) -> str:
    invoice_id = str(payload["data"]["object"]["id"])
    try:
        invoice = stripe_api.client().v1.invoices.retrieve(
            invoice_id, options=stripe_api.options(account=event.account or None)
        )
    except stripe.StripeError as exc:
        raise RetryLater(str(exc)) from exc
    subscription_id = _invoice_subscription(invoice)
    if not subscription_id:
        if event.source == StripeEvent.Source.CONNECT:
            # A one-off invoice: a payment automation's, if any.
            outcome = payment_request_refresh(account=event.account, invoice=invoice)
            if outcome is not None:
                return outcome
        return "invoice without a subscription"
    if event.source == StripeEvent.Source.PLATFORM:
        return _sync_subscription(event, subscription_id)
    subscription = _synced(event, subscription_id)
    if subscription is None:
        return "not a client subscription"
    outcome = f"subscription {subscription.stripe_subscription_id}: {subscription.status}"
    if stripe_api.value(invoice, "status") == "paid":
        recorded = invoice_revenue_record(invoice=invoice, location=subscription.location)
        outcome += "; revenue recorded" if recorded else "; revenue already recorded"
    return outcome


@register("checkout.session.completed")
def checkout_completed(event: StripeEvent, payload: dict[str, Any]) -> str:
    """The client (connected account) or the agency (platform account) paid or started a trial:
    the session names the subscription it created, which is then re-read like any other."""
    try:
        subscription_id = checkout_session_subscription(
            account=event.account, session_id=str(payload["data"]["object"]["id"])
        )
    except stripe_api.StripeCallError as exc:
        if exc.retryable:
            raise RetryLater(exc.message) from exc
        raise
    if not subscription_id:
        return "checkout without a subscription"
    return _sync_subscription(event, subscription_id)


@register("account.updated")
def account_changed(event: StripeEvent, payload: dict[str, Any]) -> str:
    account_id = event.account or str(payload["data"]["object"]["id"])
    try:
        with transaction.atomic():
            transaction_lock(f"stripe-account:{account_id}")
            account = connect_account_refresh(stripe_account_id=account_id)
    except NotFound:
        return "not one of our agencies' accounts"
    return f"account {account.stripe_account_id}: payouts {account.payouts_enabled}"
