"""A drain applies a chunk's contact events a batch at a time (one location look-up, one write
per location, the leads queued in the same transaction), with the same outcome as one at a time:
each record keeps its own event's time, a bad event never takes the others down with it, and
concurrent drains apply every event exactly once."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test.utils import CaptureQueriesContext

from integrations.inbox.models import InboundEvent
from integrations.inbox.services import inbound_events_drain
from integrations.mirror.models import MirrorContact
from integrations.mirror.writer import mirror_upsert
from integrations.routing.models import PendingLead, RoutingDecision
from integrations.routing.services import rule_save
from tenants.models import Location
from tests.conftest import World
from tests.factories import InboundEventFactory
from tests.integrations.routing.util import agents

T0 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


def contact_event(
    location: Location | str,
    ghl_id: str,
    *,
    minute: int,
    kind: str = "ContactCreate",
    **fields: Any,
) -> InboundEvent:
    location_id = location if isinstance(location, str) else str(location.ghl_location_id)
    payload: dict[str, Any] = {"type": kind, "locationId": location_id, "id": ghl_id, **fields}
    if ghl_id == "":
        del payload["id"]
    return InboundEventFactory(
        event_type=kind,
        location_id=location_id,
        entity_id=ghl_id,
        occurred_at=T0 + timedelta(minutes=minute),
        body=json.dumps(payload).encode(),
    )


def statuses() -> dict[str, str]:
    return dict(InboundEvent.objects.values_list("entity_id", "status"))


def queued(location: Location) -> list[str]:
    rows = PendingLead.objects.for_location(location).order_by("id")
    return list(rows.values_list("contact_ghl_id", flat=True))


@pytest.mark.django_db
def test_a_chunk_costs_the_same_queries_whatever_its_size(world: World) -> None:
    first, second = world.a.locations
    rule_save(location=first, name="Everyone", pool={"agents": agents(first, 2)})

    def drain(prefix: str, count: int) -> int:
        for n in range(count):
            contact_event((first, second)[n % 2], f"{prefix}{n:03d}", minute=n, firstName="Lead")
        with CaptureQueriesContext(connection) as queries:
            assert inbound_events_drain() == count
        return len(queries)

    drain("warm", 2)  # per-process caches (column types, statements) filled
    small, large = drain("s", 4), drain("l", 24)
    assert large == small
    assert set(statuses().values()) == {"succeeded"}
    assert MirrorContact.objects.for_location(second).filter(ghl_id__startswith="l").count() == 12
    # Leads queue where the location routes them, in arrival order.
    assert queued(first)[-3:] == ["l018", "l020", "l022"] and queued(second) == []


@pytest.mark.django_db
def test_each_record_of_a_batch_keeps_its_own_events_time(world: World) -> None:
    location = world.a.locations[0]
    stored = {"id": "c1", "firstName": "Newer", "locationId": location.ghl_location_id}
    mirror_upsert(
        location_id=location.pk,
        kind="contact",
        records=[stored],
        changed_at=T0 + timedelta(minutes=10),
    )
    contact_event(location, "c1", minute=5, kind="ContactUpdate", firstName="Older")
    contact_event(location, "c2", minute=20, kind="ContactUpdate", firstName="Fresh")
    assert inbound_events_drain() == 2
    rows = dict(MirrorContact.objects.for_location(location).values_list("ghl_id", "first_name"))
    assert rows == {"c1": "Newer", "c2": "Fresh"}
    c2 = MirrorContact.objects.for_location(location).get(ghl_id="c2")
    assert c2.ghl_updated_at == T0 + timedelta(minutes=20)
    # A ContactUpdate of a contact new to the mirror is a lead too (its create was superseded).
    assert set(statuses().values()) == {"succeeded"}


@pytest.mark.django_db
def test_a_bad_event_is_a_dead_letter_and_the_rest_of_its_batch_still_applies(
    world: World,
) -> None:
    location = world.a.locations[0]
    rule_save(location=location, name="Everyone", pool={"agents": agents(location, 1)})
    contact_event(location, "c1", minute=1)
    contact_event(location, "", minute=2)  # no contact id: the batch falls back, event by event
    contact_event(location, "c3", minute=3)
    contact_event("NotOurLocation000001", "c4", minute=4)  # never ours: ignored
    assert inbound_events_drain() == 4
    assert statuses() == {"c1": "succeeded", "": "dead", "c3": "succeeded", "c4": "succeeded"}
    assert queued(location) == ["c1", "c3"]
    assert set(MirrorContact.objects.for_location(location).values_list("ghl_id", flat=True)) == {
        "c1",
        "c3",
    }


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_drains_apply_every_event_exactly_once(world: World) -> None:
    first, second = world.a.locations
    for location in (first, second):
        rule_save(location=location, name="Everyone", pool={"agents": agents(location, 2)})
    for n in range(120):
        contact_event((first, second)[n % 2], f"c{n:03d}", minute=n % 7)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def drain() -> None:
        try:
            start.wait()
            inbound_events_drain(batch=7)
        except BaseException as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connections[DEFAULT_DB_ALIAS].close()

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    events = InboundEvent.objects.values_list("status", "attempts")
    assert set(events) == {("succeeded", 1)} and len(events) == 120
    for index, location in enumerate((first, second)):
        assert MirrorContact.objects.for_location(location).count() == 60
        # Each lead queued once (tasks run eagerly here: the queue was drained and routed).
        decided = RoutingDecision.objects.for_location(location).values_list(
            "contact_ghl_id", flat=True
        )
        assert sorted(decided) == [f"c{n:03d}" for n in range(index, 120, 2)]
