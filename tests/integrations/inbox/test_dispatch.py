"""Handing stored events to the workers from a background thread, several per message."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from integrations.inbox.dispatch import Dispatcher
from saas_platform.celery import app

QUEUE = "webhooks"


@pytest.fixture
def real_broker(settings: Any) -> Any:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    with app.connection_for_write() as connection:
        client = connection.default_channel.client
        client.delete(QUEUE)
        try:
            yield client
        finally:
            client.delete(QUEUE)
            app.conf.task_always_eager = True


def queued(client: Any) -> list[list[int]]:
    messages = []
    for raw in client.lrange(QUEUE, 0, -1):
        message = json.loads(raw)
        args = json.loads(base64.b64decode(message["body"]))[0]
        messages.append(args[0] if isinstance(args[0], list) else list(args))
    return messages


def test_ids_submitted_together_travel_in_one_message(real_broker: Any) -> None:
    dispatcher = Dispatcher()
    for event_pk in range(1, 31):
        dispatcher.submit(event_pk)
    deadline = time.monotonic() + 5
    while sum(map(len, queued(real_broker))) < 30:
        assert time.monotonic() < deadline, queued(real_broker)
        time.sleep(0.01)
    messages = queued(real_broker)
    assert sorted(pk for batch in messages for pk in batch) == list(range(1, 31))
    assert len(messages) < 30  # batched, not one message per event


def test_a_lone_event_is_published_promptly(real_broker: Any) -> None:
    dispatcher = Dispatcher()
    dispatcher.submit(7)
    deadline = time.monotonic() + 2
    while not queued(real_broker):
        assert time.monotonic() < deadline
        time.sleep(0.005)
    assert queued(real_broker) == [[7]]


def test_eager_mode_publishes_on_the_callers_thread(settings: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    dispatcher = Dispatcher()
    dispatcher.submit(123456789)  # no such row: processing finds nothing to do, no thread starts
    assert dispatcher._pid is None
