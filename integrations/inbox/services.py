"""Storing inbound events durably (before answering 2xx) and processing them.

`inbound_event_store` inserts with `ON CONFLICT DO NOTHING`, so concurrent deliveries of one event
make exactly one row; the processing task is enqueued after the commit. `inbound_event_process`
claims a row (`SKIP LOCKED`), runs the handler registered for its type, and records the outcome:
succeeded, failed (retried with backoff) or, after `MAX_ATTEMPTS`, dead (replayable)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from saas_platform.kernel.logging import get_logger

from .batch import inbound_events_apply_batch
from .models import InboundEvent

log = get_logger(__name__)

MAX_ATTEMPTS = 6
LOST_ENQUEUE_AFTER = timedelta(minutes=2)
ABANDONED_AFTER = timedelta(minutes=15)
# Retry n waits BACKOFF[n-1] seconds (the last value repeats).
BACKOFF = (10, 60, 300, 900, 3600)
# A drain claims this many rows per transaction, and hands over to a new drain after LIMIT.
DRAIN_BATCH = 100
DRAIN_LIMIT = 5000

Handler = Callable[[InboundEvent, dict[str, Any]], str]
_handlers: dict[tuple[str, str], Handler] = {}
# Event types whose payload is the whole record: a newer one makes pending older ones moot.
_families: dict[tuple[str, str], frozenset[str]] = {}


class RetryLater(Exception):
    """The event cannot be handled yet (e.g. it refers to something not seen yet)."""


class Unprocessable(Exception):
    """The event can never be handled as it is (malformed record): a dead letter at once,
    waiting for a person (and a replay once the cause is fixed)."""


def register(
    source: str, *event_types: str, coalesce: bool = False
) -> Callable[[Handler], Handler]:
    """Register a handler. `coalesce`: the types carry the full record, so of a burst of
    events about one record only the newest needs applying."""

    def decorate(handler: Handler) -> Handler:
        for event_type in event_types:
            _handlers[(source, event_type)] = handler
            if coalesce:
                _families[(source, event_type)] = frozenset(event_types)
        return handler

    return decorate


def _superseded(event: InboundEvent) -> bool:
    family = _families.get((event.source, event.event_type))
    if not family or not event.entity_id:
        return False
    newer = InboundEvent.objects.filter(
        source=event.source,
        location_id=event.location_id,
        entity_id=event.entity_id,
        event_type__in=family,
        # Processing too: a drain claims a burst together, and the newest of it will be applied.
        status__in=[InboundEvent.Status.PENDING, InboundEvent.Status.PROCESSING],
    ).exclude(pk=event.pk)
    if event.occurred_at is not None:
        newer = newer.filter(
            Q(occurred_at__gt=event.occurred_at) | Q(occurred_at=event.occurred_at, pk__gt=event.pk)
        )
    else:
        newer = newer.filter(pk__gt=event.pk)
    return newer.exists()


def _superseded_in(events: list[InboundEvent]) -> set[int]:
    """`_superseded` for a drain's whole chunk: one query per kind of record instead of one per
    event. A newer event stored after this look is missed, and the older one applied: harmless,
    the writer keeps the newest version whatever the order."""
    groups: dict[tuple[str, frozenset[str]], list[int]] = defaultdict(list)
    for event in events:
        family = _families.get((event.source, event.event_type))
        if family and event.entity_id:
            groups[(event.source, family)].append(event.pk)
    found: set[int] = set()
    for (source, family), pks in groups.items():
        newer = InboundEvent.objects.filter(
            source=source,
            location_id=OuterRef("location_id"),
            entity_id=OuterRef("entity_id"),
            event_type__in=family,
            status__in=[InboundEvent.Status.PENDING, InboundEvent.Status.PROCESSING],
        ).exclude(pk=OuterRef("pk"))
        later = Q(occurred_at__gt=OuterRef("occurred_at")) | Q(
            occurred_at=OuterRef("occurred_at"), pk__gt=OuterRef("pk")
        )
        chunk = InboundEvent.objects.filter(pk__in=pks)
        found.update(
            chunk.filter(occurred_at__isnull=False)
            .filter(Exists(newer.filter(later)))
            .values_list("pk", flat=True)
        )
        found.update(
            chunk.filter(occurred_at__isnull=True)
            .filter(Exists(newer.filter(pk__gt=OuterRef("pk"))))
            .values_list("pk", flat=True)
        )
    return found


_STORE_SQL = """
    INSERT INTO integrations_inboundevent
        (source, event_id, event_type, company_id, location_id, entity_id, body,
         signature_kind, occurred_at, received_at, status, attempts, last_error)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now(), 'pending', 0, '')
    ON CONFLICT (source, event_id) DO NOTHING
    RETURNING id
"""


def _insert_once(params: list[Any]) -> tuple[int] | None:
    """Run the inbox INSERT: the one statement on the webhook's hot path, so it goes to the
    driver directly (a prepared statement, none of the cursor wrapping) and skips the health-check
    ping Django makes on a reused connection's first query (a round trip per request). Should the
    kept-alive connection turn out dead, the INSERT is retried once on a new connection — safe,
    as ON CONFLICT makes it idempotent. Inside a transaction nothing is retried."""
    try:
        return _execute_store(params)
    except (OperationalError, InterfaceError):
        if not connection.get_autocommit():
            raise
        connection.close()
        return _execute_store(params)


def _execute_store(params: list[Any]) -> tuple[int] | None:
    connection.ensure_connection()
    with connection.wrap_database_errors:
        row = connection.connection.execute(_STORE_SQL, params, prepare=True).fetchone()
    return cast(tuple[int] | None, row)


def inbound_event_store(
    *,
    source: str,
    event_id: str,
    event_type: str,
    body: bytes,
    company_id: str = "",
    location_id: str = "",
    entity_id: str = "",
    occurred_at: datetime | None = None,
    signature_kind: str = "",
) -> int | None:
    """Store one delivery; returns the new row's id, or None for a duplicate. Raises a database
    error when the row cannot be stored (the caller answers so the sender retries)."""
    params = [
        source,
        event_id,
        event_type[:64],
        company_id[:64],
        location_id[:64],
        entity_id[:64],
        body,
        signature_kind,
        occurred_at,
    ]
    row = _insert_once(params)
    if row is None:
        return None
    event_pk = int(row[0])
    from .dispatch import dispatcher

    if connection.in_atomic_block:
        transaction.on_commit(lambda: dispatcher.submit(event_pk))
    else:  # autocommit: the row is committed already
        dispatcher.submit(event_pk)
    return event_pk


def _enqueue(event_pk: int, countdown: float = 0) -> None:
    from integrations.tasks import inbound_event_process

    try:
        inbound_event_process.apply_async((event_pk,), countdown=countdown)
    except Exception as exc:  # broker down: the row is stored; the sweep picks it up
        log.error("inbox.enqueue_failed", event_id=event_pk, error=str(exc))


def _claim(event_pk: int, *, replay: bool) -> InboundEvent | None:
    runnable = [InboundEvent.Status.PENDING, InboundEvent.Status.FAILED]
    if replay:
        runnable += [InboundEvent.Status.DEAD, InboundEvent.Status.SUCCEEDED]
    with transaction.atomic():
        event = (
            InboundEvent.objects.select_for_update(skip_locked=True)
            .filter(pk=event_pk, status__in=runnable)
            .first()
        )
        if event is None:
            return None
        event.status = InboundEvent.Status.PROCESSING
        event.attempts += 1
        event.processed_at = timezone.now()  # when this attempt started
        event.save(update_fields=["status", "attempts", "processed_at"])
    return event


def inbound_event_process(*, event_pk: int, replay: bool = False) -> str | None:
    """Run the handler of one stored event; returns its new status (None: not runnable now)."""
    event = _claim(event_pk, replay=replay)
    if event is None:
        return None
    return _run(event, replay=replay)


def _claim_pending(limit: int) -> list[InboundEvent]:
    """Claim up to `limit` pending events, oldest first, that no other drain holds."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE integrations_inboundevent
               SET status = 'processing', attempts = attempts + 1, processed_at = now()
             WHERE id IN (SELECT id FROM integrations_inboundevent
                           WHERE status = 'pending'
                           ORDER BY received_at
                           LIMIT %s
                             FOR UPDATE SKIP LOCKED)
            RETURNING id
            """,
            [limit],
        )
        claimed = [row[0] for row in cursor.fetchall()]
    return list(InboundEvent.objects.filter(pk__in=claimed).order_by("received_at", "pk"))


def inbound_events_drain(*, limit: int = DRAIN_LIMIT, batch: int = DRAIN_BATCH) -> int:
    """Process pending events until none are left (or `limit` were taken: then another drain
    is asked for, so a backlog is shared between workers). Returns how many were processed."""
    from .dispatch import drain_request, drain_started

    drain_started()
    done = 0
    while done < limit:
        claimed = _claim_pending(min(batch, limit - done))
        if not claimed:
            return done
        superseded = _superseded_in(claimed)
        _mark_superseded(superseded)
        rest = [event for event in claimed if event.pk not in superseded]
        applied = inbound_events_apply_batch(events=rest)
        for event in rest:
            if event.pk not in applied:
                _run(event, replay=False, superseded=False)
        done += len(claimed)
    drain_request(force=True)
    return done


def _mark_superseded(pks: set[int]) -> None:
    if pks:
        InboundEvent.objects.filter(pk__in=pks).update(
            status=InboundEvent.Status.SUPERSEDED,
            last_error="a newer event about the same record is queued",
            processed_at=timezone.now(),
        )


def _run(event: InboundEvent, *, replay: bool, superseded: bool | None = None) -> str:
    """`superseded`: already worked out for the drain's chunk (None: look now)."""
    handler = _handlers.get((event.source, event.event_type))
    if superseded is None:
        superseded = not replay and _superseded(event)
    if superseded:
        _mark_superseded({event.pk})
        return str(InboundEvent.Status.SUPERSEDED)
    try:
        if handler is None:
            outcome, status = f"no handler for {event.event_type}", InboundEvent.Status.SUCCEEDED
        else:
            outcome = handler(event, json.loads(bytes(event.body)))
            status = InboundEvent.Status.SUCCEEDED
    except Exception as exc:
        retry_later = isinstance(exc, RetryLater)
        give_up = isinstance(exc, Unprocessable) or event.attempts >= MAX_ATTEMPTS
        status = InboundEvent.Status.DEAD if give_up else InboundEvent.Status.FAILED
        outcome = f"{type(exc).__name__}: {exc}"
        log_method = log.info if retry_later else log.warning
        log_method("inbox.event_failed", event_id=event.pk, type=event.event_type, error=outcome)
    InboundEvent.objects.filter(pk=event.pk).update(
        status=status,
        last_error="" if status == InboundEvent.Status.SUCCEEDED else outcome[:4000],
        processed_at=timezone.now(),
    )
    if status == InboundEvent.Status.FAILED:
        _enqueue(event.pk, countdown=BACKOFF[min(event.attempts, len(BACKOFF)) - 1])
    return str(status)


def inbound_events_sweep(*, now: datetime | None = None) -> int:
    """Hand over again what fell through: pending events no drain took (a drain is asked for),
    failed events whose retry was lost, and attempts abandoned by a killed worker. Returns how
    many events that concerned."""
    now = now or timezone.now()
    Status = InboundEvent.Status
    InboundEvent.objects.filter(
        status=Status.PROCESSING, processed_at__lt=now - ABANDONED_AFTER
    ).update(status=Status.FAILED, last_error="abandoned by its worker")
    from .dispatch import drain_request

    pending = InboundEvent.objects.filter(
        status=Status.PENDING, received_at__lt=now - LOST_ENQUEUE_AFTER
    ).count()
    if pending:
        drain_request(force=True)
    lost_retries = list(
        InboundEvent.objects.filter(
            status=Status.FAILED, processed_at__lt=now - timedelta(seconds=max(BACKOFF) * 2)
        ).values_list("pk", flat=True)[:1000]
    )
    for event_pk in lost_retries:
        _enqueue(event_pk)
    return pending + len(lost_retries)


def inbound_event_replay(*, event_pk: int) -> str | None:
    """Run a dead (or processed) event again — handlers are idempotent."""
    return inbound_event_process(event_pk=event_pk, replay=True)


def inbound_events_prune(*, now: datetime | None = None) -> int:
    """Forget processed events after the retention period (their bodies hold people's data);
    failed and dead ones stay until someone has looked at them."""
    from django.conf import settings

    cutoff = (now or timezone.now()) - timedelta(days=settings.INBOX_RETENTION_DAYS)
    deleted, _ = InboundEvent.objects.filter(
        status__in=[InboundEvent.Status.SUCCEEDED, InboundEvent.Status.SUPERSEDED],
        received_at__lt=cutoff,
    ).delete()
    return deleted
