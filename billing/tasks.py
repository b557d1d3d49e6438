"""Celery tasks of billing (thin: they take ids and call services)."""

from __future__ import annotations

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


@shared_task
def agency_subscription_reminder_send(subscription_pk: int) -> int:
    return agency_dunning.agency_subscription_reminder_send(subscription_pk=subscription_pk)


@shared_task
def agency_subscriptions_dunning_run() -> dict[str, int]:
    return agency_dunning.agency_subscriptions_dunning_run()
