"""A drain works out which events of its chunk are superseded in one query per kind of record,
with the same answer as asking event by event."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.inbox.models import InboundEvent
from integrations.inbox.services import _superseded, _superseded_in
from tests.factories import InboundEventFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


def event(entity: str, minute: int | None, **fields: object) -> InboundEvent:
    occurred = None if minute is None else T0 + timedelta(minutes=minute)
    return InboundEventFactory(
        event_type=fields.pop("event_type", "ContactUpdate"),
        entity_id=entity,
        occurred_at=occurred,
        status=fields.pop("status", InboundEvent.Status.PROCESSING),
        **fields,
    )


def test_the_chunk_answer_matches_the_per_event_answer_in_one_query_per_kind() -> None:
    chunk = [
        event("c1", 1, event_type="ContactCreate"),  # a newer update of c1 follows
        event("c1", 2),
        event("c2", 5),  # only an older c2 event is pending: not superseded
        event("c3", None),  # no time: a later-stored c3 event supersedes it
        event("c3", None),
        event("o1", 1, event_type="OpportunityUpdate"),
        event("", 1),  # no record id: never superseded
    ]
    event("c2", 4, status=InboundEvent.Status.PENDING)
    event("o1", 3, event_type="OpportunityStatusUpdate", status=InboundEvent.Status.PENDING)
    event("c1", 9, status=InboundEvent.Status.SUCCEEDED)  # done: supersedes nothing
    with CaptureQueriesContext(connection) as queries:
        found = _superseded_in(chunk)
    assert found == {e.pk for e in chunk if _superseded(e)}
    assert found == {chunk[0].pk, chunk[3].pk, chunk[5].pk}
    assert len(queries.captured_queries) <= 4  # two kinds of record, two queries each
