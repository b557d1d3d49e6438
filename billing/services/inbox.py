"""The Stripe event inbox: stored once per (source, event id) before the 2xx, processed by a
worker that claims the row (`SKIP LOCKED`), runs the handler for its type and records the outcome
— succeeded, failed (retried with backoff) or, after `MAX_ATTEMPTS`, dead (replayable from the
staff admin). Handlers re-read the object from Stripe, so duplicates and any arrival order end
in the same state."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from saas_platform.kernel.logging import get_logger

from ..models import StripeEvent

log = get_logger(__name__)

MAX_ATTEMPTS = 6
BACKOFF = (10, 60, 300, 900, 3600)  # seconds before retry n (the last repeats)
ABANDONED_AFTER = timedelta(minutes=15)

Handler = Callable[[StripeEvent, dict[str, Any]], str]
_handlers: dict[str, Handler] = {}


class RetryLater(Exception):
    """Not handleable yet (Stripe busy, or the event names something we have not stored yet)."""


def register(*event_types: str) -> Callable[[Handler], Handler]:
    def decorate(handler: Handler) -> Handler:
        for event_type in event_types:
            _handlers[event_type] = handler
        return handler

    return decorate


_STORE_SQL = """
    INSERT INTO billing_stripeevent
        (source, event_id, event_type, account, object_id, livemode, body, received_at, status,
         attempts, last_error)
    VALUES (%s, %s, %s, %s, %s, %s, %s, now(), 'pending', 0, '')
    ON CONFLICT (source, event_id) DO NOTHING
    RETURNING id
"""


def stripe_event_store(
    *,
    source: str,
    event_id: str,
    event_type: str,
    body: bytes,
    account: str = "",
    object_id: str = "",
    livemode: bool = False,
) -> int | None:
    """Store one delivery; the new row's id, or None for a duplicate (concurrent deliveries of
    one event make one row). Processing is enqueued once the row is committed."""
    with connection.cursor() as cursor:
        cursor.execute(
            _STORE_SQL,
            [
                source,
                event_id[:255],
                event_type[:100],
                account[:64],
                object_id[:255],
                livemode,
                body,
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    event_pk = int(row[0])
    transaction.on_commit(lambda: _enqueue(event_pk))
    return event_pk


def _enqueue(event_pk: int, countdown: float = 0) -> None:
    from ..tasks import stripe_event_process

    try:
        stripe_event_process.apply_async((event_pk,), countdown=countdown)
    except Exception as exc:  # broker down: the row is stored; the sweep hands it over again
        log.error("billing.inbox.enqueue_failed", event_id=event_pk, error=str(exc))


def _claim(event_pk: int, *, replay: bool) -> StripeEvent | None:
    runnable = [StripeEvent.Status.PENDING, StripeEvent.Status.FAILED]
    if replay:
        runnable += [StripeEvent.Status.DEAD, StripeEvent.Status.SUCCEEDED]
    with transaction.atomic():
        event = (
            StripeEvent.objects.select_for_update(skip_locked=True)
            .filter(pk=event_pk, status__in=runnable)
            .first()
        )
        if event is None:
            return None
        event.status = StripeEvent.Status.PROCESSING
        event.attempts += 1
        event.processed_at = timezone.now()
        event.save(update_fields=["status", "attempts", "processed_at"])
    return event


def stripe_event_process(*, event_pk: int, replay: bool = False) -> str | None:
    """Run the handler of one stored event; its new status (None: not runnable now)."""
    event = _claim(event_pk, replay=replay)
    if event is None:
        return None
    from .. import handlers  # noqa: F401 — registers the handlers

    handler = _handlers.get(event.event_type)
    try:
        if handler is None:
            outcome = f"no handler for {event.event_type}"
        else:
            outcome = handler(event, json.loads(bytes(event.body)))
        status = StripeEvent.Status.SUCCEEDED
    except Exception as exc:
        give_up = event.attempts >= MAX_ATTEMPTS
        status = StripeEvent.Status.DEAD if give_up else StripeEvent.Status.FAILED
        outcome = f"{type(exc).__name__}: {exc}"
        log.warning("billing.inbox.event_failed", event_id=event.pk, error=outcome)
    StripeEvent.objects.filter(pk=event.pk).update(
        status=status,
        last_error="" if status == StripeEvent.Status.SUCCEEDED else outcome[:4000],
        processed_at=timezone.now(),
    )
    if status == StripeEvent.Status.FAILED and not replay:
        _enqueue(event.pk, countdown=BACKOFF[min(event.attempts, len(BACKOFF)) - 1])
    return str(status)


def stripe_event_replay(*, event_pk: int) -> str | None:
    """Run a dead (or processed) event again: handlers re-read Stripe, so this is safe."""
    return stripe_event_process(event_pk=event_pk, replay=True)


def stripe_events_sweep(*, now: datetime | None = None) -> int:
    """Hand over again what fell through: pending rows whose enqueue was lost, failed rows whose
    retry was lost, attempts abandoned by a killed worker. Returns how many."""
    now = now or timezone.now()
    Status = StripeEvent.Status
    StripeEvent.objects.filter(
        status=Status.PROCESSING, processed_at__lt=now - ABANDONED_AFTER
    ).update(status=Status.FAILED, last_error="abandoned by its worker")
    stale = StripeEvent.objects.filter(status=Status.PENDING, received_at__lt=now - ABANDONED_AFTER)
    lost = StripeEvent.objects.filter(
        status=Status.FAILED, processed_at__lt=now - timedelta(seconds=max(BACKOFF) * 2)
    )
    pks = [*stale.values_list("pk", flat=True)[:1000], *lost.values_list("pk", flat=True)[:1000]]
    for pk in pks:
        _enqueue(pk)
    return len(pks)


def stripe_events_prune(*, now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - timedelta(days=settings.BILLING_EVENT_RETENTION_DAYS)
    deleted, _ = StripeEvent.objects.filter(
        status=StripeEvent.Status.SUCCEEDED, received_at__lt=cutoff
    ).delete()
    return deleted
