"""What fell through is handed over again: lost enqueues, lost retries, abandoned attempts."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from billing.models import StripeEvent
from billing.services.inbox import stripe_events_prune, stripe_events_sweep
from tests.conftest import World

BODY = b'{"id": "evt", "type": "ping", "data": {"object": {}}}'


def _row(event_id: str, **fields: object) -> StripeEvent:
    return StripeEvent.objects.create(
        source="platform", event_id=event_id, event_type="ping", body=BODY, **fields
    )


def test_the_sweep_runs_what_was_lost_and_frees_what_was_abandoned(world: World) -> None:
    old = timezone.now() - timedelta(hours=3)
    lost_enqueue = _row("evt_pending", received_at=old)
    abandoned = _row("evt_abandoned", status="processing", processed_at=old, attempts=1)
    fresh = _row("evt_fresh")
    # Tasks run eagerly here: what the sweep hands over is processed at once.
    assert stripe_events_sweep() == 2
    lost_enqueue.refresh_from_db()
    abandoned.refresh_from_db()
    fresh.refresh_from_db()
    assert (lost_enqueue.status, lost_enqueue.last_error) == ("succeeded", "")
    assert (abandoned.status, abandoned.attempts) == ("succeeded", 2)
    assert fresh.status == "pending"  # its own enqueue is still on the way


def test_prune_forgets_only_old_successes(world: World) -> None:
    old = timezone.now() - timedelta(days=60)
    _row("evt_old_ok", status="succeeded", received_at=old)
    _row("evt_old_dead", status="dead", received_at=old)
    _row("evt_new_ok", status="succeeded")
    assert stripe_events_prune() == 1
    assert set(StripeEvent.objects.values_list("event_id", flat=True)) == {
        "evt_old_dead",
        "evt_new_ok",
    }
