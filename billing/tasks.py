"""Celery tasks of billing (thin: they take ids and call services)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from .services import agency_dunning, dunning, inbox


@shared_task
def stripe_event_process(event_pk: int) -> str | None:
    return inbox.stripe_event_process(event_pk=event_pk)


@shared_task
def stripe_events_sweep() -> int:
    return inbox.stripe_events_sweep()


@shared_task
def stripe_events_prune() -> int:
    return inbox.stripe_events_prune()


@shared_task
def subscription_reminder_send(subscription_pk: int) -> int:
    return dunning.subscription_reminder_send(subscription_pk=subscription_pk)


@shared_task
def subscriptions_dunning_run() -> dict[str, int]:
    return dunning.subscriptions_dunning_run()


# --- payment automations --------------------------------------------------------------------------


@shared_task
def payment_automations_run() -> int:
    """Take committed won opportunities, then send their invoices (and any left pending)."""
    from .services import payment_requests

    pending = payment_requests.won_events_consume()
    for request_id in {*pending, *payment_requests.payment_requests_stalled()}:
        payment_request_send.delay(request_id)
    return len(pending)


@shared_task(bind=True, max_retries=8)
def payment_request_send(self: Any, request_id: int) -> str:
    from .services import payment_requests

    try:
        return payment_requests.payment_request_send(request_id=request_id)
    except payment_requests.RetryLater as exc:
        raise self.retry(exc=exc, countdown=min(60 * 2**self.request.retries, 3600)) from exc


@shared_task
def agency_subscription_reminder_send(subscription_pk: int) -> int:
    return agency_dunning.agency_subscription_reminder_send(subscription_pk=subscription_pk)


@shared_task
def agency_subscriptions_dunning_run() -> dict[str, int]:
    return agency_dunning.agency_subscriptions_dunning_run()
