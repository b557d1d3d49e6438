"""Publishing tenant events: the one point where the apps say "this happened to a location".

`event_publish` writes a TenantEvent row inside the caller's transaction (the outbox) and, once
that transaction commits, sends `events_published` so a consumer can pick the rows up at once
(a periodic sweep picks up whatever that misses). tenants knows no consumer: integrations
registers one with `events_wanted_register` to skip rows nobody subscribed to, and listens to
the signal. billing and integrations both publish here, as neither may import the other."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import transaction
from django.dispatch import Signal

from .models import Location, TenantEvent

# sender=TenantEvent, no arguments: events were committed to the outbox.
events_published = Signal()

Wanted = Callable[[int, str], bool]
_wanted: list[Wanted] = []


def events_wanted_register(predicate: Wanted) -> None:
    """`predicate(location_id, event_type)`: whether any consumer would deliver such an event."""
    if predicate not in _wanted:
        _wanted.append(predicate)


def events_wanted(*, location_id: int, event_type: str) -> bool:
    # No consumer registered: record anyway rather than lose events silently.
    return not _wanted or any(predicate(location_id, event_type) for predicate in _wanted)


class _Announcement:
    """One transaction's after-commit announcement. It marks itself when it runs: tests'
    `captureOnCommitCallbacks(execute=True)` runs callbacks without taking them off the
    connection's list, so "one is listed" alone would silence every later publish of the test's
    transaction (and of the callbacks it runs, such as an eager task publishing in turn)."""

    ran = False

    def __call__(self) -> None:
        self.ran = True
        events_published.send(TenantEvent)


def events_announce() -> None:
    """Tell consumers, after the current transaction commits, that events are waiting (for
    writers inserting TenantEvent rows in SQL themselves). Once per transaction, however many
    batches a sync writes in it. The pending announcement is looked up in the connection's
    after-commit list, which Django keeps per connection and prunes when a savepoint rolls back,
    so one registered in a rolled-back savepoint no longer counts and the next publish adds
    another."""
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
        isinstance(entry[1], _Announcement) and not entry[1].ran
        for entry in connection.run_on_commit
    ):
        return
    transaction.on_commit(_Announcement())


def event_publish(
    *, location: Location | int, event_type: str, data: Mapping[str, Any]
) -> TenantEvent | None:
    """Record that `event_type` happened to `location`, in the caller's transaction. Returns
    None when no consumer wants the event (nothing is written)."""
    location_id = location if isinstance(location, int) else location.pk
    if not events_wanted(location_id=location_id, event_type=event_type):
        return None
    event = TenantEvent.objects.create(location_id=location_id, type=event_type, data=dict(data))
    events_announce()
    return event


# Events billing and integrations exchange for payment automations (neither may import the
# other, so the names live here). "opportunity.won", from integrations: {"opportunity": {"id",
# "name", "contact_id", "pipeline_id", "stage_id", "monetary_value" (a decimal string)},
# "contact": {"id", "email", "name"}}. "payment.succeeded", from billing: {"payment": {"id",
# "amount", "currency", "amount_display", "stripe_object_id", "kind"}, "opportunity": {"id",
# "pipeline_id", "monetary_value", "paid_stage_id"}, "contact": {"id"}}.
OPPORTUNITY_WON = "opportunity.won"
PAYMENT_SUCCEEDED = "payment.succeeded"


def events_publish_many(
    *, location: Location | int, event_type: str, datas: Sequence[Mapping[str, Any]]
) -> int:
    """`event_publish` for several events of one type and location (a batch of decisions): one
    look at who wants them and one INSERT. Returns how many rows were written."""
    location_id = location if isinstance(location, int) else location.pk
    if not datas or not events_wanted(location_id=location_id, event_type=event_type):
        return 0
    TenantEvent.objects.bulk_create(
        [TenantEvent(location_id=location_id, type=event_type, data=dict(data)) for data in datas]
    )
    events_announce()
    return len(datas)
