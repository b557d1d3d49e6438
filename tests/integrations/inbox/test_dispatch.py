"""Handing stored events to the workers: a drain is asked for at most once until it starts."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from integrations.inbox import dispatch
from integrations.inbox.dispatch import DRAIN_FLAG, Dispatcher, drain_started
from integrations.inbox.models import InboundEvent
from integrations.inbox.services import inbound_events_sweep
from saas_platform.celery import app

QUEUE = "webhooks"


@pytest.fixture
def real_broker(settings: Any) -> Iterator[Any]:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    cache.delete(DRAIN_FLAG)
    with app.connection_for_write() as connection:
        client = connection.default_channel.client
        client.delete(QUEUE)
        try:
            yield client
        finally:
            client.delete(QUEUE)
            cache.delete(DRAIN_FLAG)
            app.conf.task_always_eager = True


def queued(client: Any) -> list[str]:
    return [json.loads(raw)["headers"]["task"] for raw in client.lrange(QUEUE, 0, -1)]


def wait_for(client: Any, count: int, timeout: float = 3.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while len(queued(client)) < count:
        assert time.monotonic() < deadline, queued(client)
        time.sleep(0.005)
    return queued(client)


def test_a_burst_of_events_asks_for_one_drain(real_broker: Any) -> None:
    dispatcher = Dispatcher()
    for event_pk in range(1, 501):
        dispatcher.submit(event_pk)
    assert wait_for(real_broker, 1) == ["integrations.tasks.inbound_events_drain"]
    for event_pk in range(501, 601):  # the drain has not started: nobody asks again
        dispatcher.submit(event_pk)
    time.sleep(dispatch.LINGER_SECONDS * 5)
    assert len(queued(real_broker)) == 1


def test_once_the_drain_starts_the_next_event_asks_for_another(real_broker: Any) -> None:
    dispatcher = Dispatcher()
    dispatcher.submit(1)
    wait_for(real_broker, 1)
    drain_started()  # what the drain does before it looks for rows
    dispatcher.submit(2)
    assert len(wait_for(real_broker, 2)) == 2


def test_a_lost_drain_is_asked_for_again_when_its_flag_expires(real_broker: Any) -> None:
    dispatcher = Dispatcher()
    dispatcher.submit(1)
    wait_for(real_broker, 1)
    real_broker.delete(QUEUE)  # the broker lost the message
    cache.touch(DRAIN_FLAG, timeout=0.05)
    time.sleep(0.1)
    dispatcher.submit(2)
    assert len(wait_for(real_broker, 1)) == 1


@pytest.mark.django_db
def test_the_sweep_asks_for_a_drain_for_old_pending_rows_even_when_one_is_flagged(
    real_broker: Any,
) -> None:
    old = InboundEvent.objects.create(
        source="ghl", event_id="lost-1", event_type="ContactCreate", body=b"{}"
    )
    InboundEvent.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(minutes=3))
    InboundEvent.objects.create(source="ghl", event_id="fresh", event_type="X", body=b"{}")
    cache.add(DRAIN_FLAG, 1, timeout=60)  # a drain asked for, and lost
    assert inbound_events_sweep() == 1
    assert queued(real_broker) == ["integrations.tasks.inbound_events_drain"]


@pytest.mark.django_db
def test_eager_mode_processes_on_the_callers_thread(settings: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    dispatcher = Dispatcher()
    dispatcher.submit(123456789)  # no such row: processing finds nothing to do, no thread starts
    assert dispatcher._pid is None
