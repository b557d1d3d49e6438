"""Applying a drain's chunk of events a batch at a time, where the handler can.

Per event, most of the work is fixed cost: a transaction, the location's lookup, the writer's
checks and the reporting marks, the status update. A *batch handler* takes every claimed event
of its types at once and does that work once per location (set-based writes), and the events'
`succeeded` status is recorded in the same transaction as their effects, so a batch commits
whole or not at all.

Nothing gets weaker than one at a time: an event the batch handler leaves out (its location is
being installed, say) and every event of a batch that raised (a malformed record, a deadlock)
go through the per-event path, with its retries and dead letters; handlers are idempotent, and
a rolled-back batch left nothing behind."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from saas_platform.kernel.logging import get_logger

from .models import InboundEvent

log = get_logger(__name__)

# Takes (event, payload) pairs; returns the pks of the events it applied.
BatchHandler = Callable[[list[tuple[InboundEvent, dict[str, Any]]]], set[int]]
_batch_handlers: dict[tuple[str, str], BatchHandler] = {}


def register_batch(source: str, *event_types: str) -> Callable[[BatchHandler], BatchHandler]:
    """Register a batch handler: it must have the same effects as the per-event handler of
    those types, applied to each event it reports as done."""

    def decorate(handler: BatchHandler) -> BatchHandler:
        for event_type in event_types:
            _batch_handlers[(source, event_type)] = handler
        return handler

    return decorate


def _payload(event: InboundEvent) -> dict[str, Any] | None:
    try:
        payload = json.loads(bytes(event.body))
    except ValueError:
        return None  # the per-event path records why
    return payload if isinstance(payload, dict) else None


def inbound_events_apply_batch(*, events: list[InboundEvent]) -> set[int]:
    """Apply the claimed `events` that a batch handler takes, each handler's share in one
    transaction with their `succeeded` status; returns the pks done. The others, and those of a
    batch that failed, are left to the caller for processing one at a time."""
    groups: dict[BatchHandler, list[tuple[InboundEvent, dict[str, Any]]]] = defaultdict(list)
    for event in events:
        handler = _batch_handlers.get((event.source, event.event_type))
        if handler is not None and (payload := _payload(event)) is not None:
            groups[handler].append((event, payload))
    done: set[int] = set()
    for handler, pairs in groups.items():
        try:
            with transaction.atomic():
                applied = handler(pairs)
                InboundEvent.objects.filter(pk__in=applied).update(
                    status=InboundEvent.Status.SUCCEEDED, last_error="", processed_at=timezone.now()
                )
        except Exception as exc:
            log.info("inbox.batch_fell_back", events=len(pairs), error=f"{type(exc).__name__}")
            continue
        done |= applied
    return done
