"""Reliability of the GHL webhook inbox, against the real engines.

R1: a thousand hostile deliveries (forged, tampered, re-serialized, malformed, sent the wrong way)
    are all refused with the status they are owed; nothing is stored and nothing is enqueued.
R2: 1,000 events delivered five times each, the five copies of an event in flight together, to
    gunicorn: one row per event, each processed exactly once, every answer a 200.
R5: PostgreSQL crashes and restarts in the middle of a burst: the endpoint answers 200 only for
    events that survived the crash and 429 (GHL's only retried status) otherwise, never a 5xx;
    after recovery and GHL's retries every event is processed exactly once.

GHL retries only after a 429 (REFERENCE §4.1), so a 5xx, or a 2xx for an event we then lose, is an
event lost for good. R2 and R5 run gunicorn on a PostgreSQL of this module's own: R5 crashes it,
and the suite's shared test database is truncated by anyone else's test run at any moment."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import psycopg
import pytest
import redis
from celery import Celery
from django.test import Client

from drills.burst import (
    PHASE,
    URL,
    Answer,
    EventSource,
    burst_through_outage,
    deliver,
    inbox_rows,
    redeliver,
    signed_event,
)
from drills.topology import (
    OwnPostgres,
    celery_worker,
    django_env,
    gunicorn,
    keep_alive_client,
    manage,
    own_postgres,
    own_redis,
)
from integrations import tasks
from integrations.inbox.models import InboundEvent
from tests.integrations.ghl.signing import Signer, compact
from tests.integrations.inbox.corpus import hostile_deliveries, valid_events

# --- R1 ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_r1_hostile_deliveries_are_refused_and_nothing_is_stored_or_enqueued(
    signer: Signer, django_capture_on_commit_callbacks: Any
) -> None:
    payloads = valid_events(200)
    corpus = list(hostile_deliveries(signer, payloads))
    assert len(corpus) >= 1000 and len({d.kind for d in corpus}) >= 40
    client = Client()
    wrong: Counter[tuple[str, int, int]] = Counter()
    # The task's enqueue is replaced by a counter (nothing runs), and every on-commit callback
    # is captured and run, so an event that slipped through would show up as an enqueue.
    with (
        mock.patch.object(tasks.inbound_event_process, "apply_async") as enqueue,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        for d in corpus:
            answer = client.generic(
                d.method, URL, d.body, content_type=d.content_type,
                headers={"Host": d.host, **d.headers},
            )  # fmt: skip
            if answer.status_code != d.expected:
                wrong[(d.kind, d.expected, answer.status_code)] += 1
    assert not wrong, f"(kind, owed, got): count — {dict(wrong)}"
    assert all(400 <= d.expected < 500 for d in corpus)
    assert InboundEvent.objects.count() == 0
    assert (callbacks, enqueue.call_count) == ([], 0)

    # The control: the valid events the corpus was made from pass the same path, are stored and
    # enqueued — so the counters above could see a leak.
    with (
        mock.patch.object(tasks.inbound_event_process, "apply_async") as enqueue,
        django_capture_on_commit_callbacks(execute=True),
    ):
        for payload in payloads:
            body = compact(payload)
            answer = client.post(
                URL,
                body,
                content_type="application/json",
                headers={"Host": "localhost", "X-GHL-Signature": signer.ed_sign(body)},
            )
            assert (answer.status_code, answer.json()) == (200, {"status": "accepted"})
    assert InboundEvent.objects.count() == len(payloads) == enqueue.call_count


# --- shared by R2 and R5 -------------------------------------------------------------------------


TEMPLATE = "inbox_template"


@pytest.fixture(scope="module")
def pg() -> Iterator[OwnPostgres]:
    """A PostgreSQL of this module's own, with a migrated database to copy per test."""
    with own_postgres() as server:
        server.create_database(TEMPLATE)
        env = django_env("saas_platform.settings.test", DATABASE_URL=server.url(TEMPLATE))
        manage(env, "migrate", "--noinput")
        yield server


# --- R2 ------------------------------------------------------------------------------------------

EVENTS = 1000
COPIES = 5
CONNECTIONS = 32
EVENTS_AT_ONCE = CONNECTIONS // COPIES  # whole events only: 6 x 5 = 30 requests in flight


async def _deliver_copies(
    base: str, events: list[tuple[str, bytes, dict[str, str]]]
) -> list[list[Answer]]:
    async with keep_alive_client(base, CONNECTIONS) as client:
        slots = asyncio.Semaphore(EVENTS_AT_ONCE)

        async def one_event(seq: int) -> list[Answer]:
            _, body, headers = events[seq]
            async with slots:  # the copies of one event are released together
                return list(
                    await asyncio.gather(
                        *(deliver(client, seq, body, headers) for _ in range(COPIES))
                    )
                )

        return list(await asyncio.gather(*(one_event(seq) for seq in range(len(events)))))


@pytest.mark.concurrency
def test_r2_concurrent_duplicates_make_one_row_per_event_processed_once(
    pg: OwnPostgres, tmp_path: Path
) -> None:
    pg.create_database("r2", template=TEMPLATE)
    signer = Signer()
    env = django_env(
        "saas_platform.settings.test",  # tasks run eagerly, inside the request that stored
        DATABASE_URL=pg.url("r2"),
        GHL_WEBHOOK_ED25519_KEYS=signer.ed_public,
        GHL_WEBHOOK_RSA_KEYS=signer.rsa_public,
    )
    events = [signed_event(signer, seq) for seq in range(EVENTS)]
    # 32 handler threads: every request in flight is being served at once, so the copies of an
    # event really race each other in the database rather than queue behind one another.
    with gunicorn(env, tmp_path / "gunicorn.log", workers=2, threads=16) as base:
        per_event = asyncio.run(_deliver_copies(base, events))

    answers = [a for copies in per_event for a in copies]
    assert Counter(a.status for a in answers) == {200: EVENTS * COPIES}, Counter(
        (a.status, a.outcome) for a in answers
    )
    for copies in per_event:
        assert sorted(a.outcome for a in copies) == ["accepted"] + ["duplicate"] * (COPIES - 1)
        # all five were on the wire at one moment
        assert max(a.started for a in copies) < min(a.finished for a in copies)
    # A duplicate answered before the accepted copy was served while the first was in progress.
    overlapping = sum(
        1
        for copies in per_event
        if min(a.finished for a in copies if a.outcome == "duplicate")
        < next(a.finished for a in copies if a.outcome == "accepted")
    )
    sys.stderr.write(f"R2: {overlapping} events had a duplicate answered before the original\n")
    assert overlapping > 0

    rows = inbox_rows(pg, "r2")
    assert set(rows) == {webhook_id for webhook_id, _, _ in events}
    assert {row[:3] for row in rows.values()} == {("succeeded", 1, "")}
    assert all(rows[webhook_id][3] == body for webhook_id, body, _ in events)


# --- R5 ------------------------------------------------------------------------------------------


def _wait_succeeded(pg: OwnPostgres, how_many: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while sum(1 for row in inbox_rows(pg, "r5").values() if row[0] == "succeeded") < how_many:
        if time.monotonic() > deadline:
            states = Counter(row[:3] for row in inbox_rows(pg, "r5").values())
            raise TimeoutError(f"fewer than {how_many} events processed: {states}")
        time.sleep(0.1)


def _sweep_three_minutes_later(pg: OwnPostgres, redis_url: str) -> int:
    """What the beat's minutely sweep does once rows have been pending for over 2 minutes: the
    pending rows are aged by 3 minutes, then the real sweep task is sent to the worker."""
    with psycopg.connect(pg.conninfo("r5")) as conn:
        aged = conn.execute(
            "UPDATE integrations_inboundevent SET received_at = received_at - interval '3 min'"
            " WHERE status = 'pending'"
        ).rowcount
    with Celery(broker=redis_url) as app:
        app.send_task("integrations.tasks.inbound_events_sweep", queue="maintenance")
    return aged


@pytest.mark.concurrency
def test_r5_a_database_crash_gets_429s_never_a_5xx_and_loses_nothing(
    pg: OwnPostgres, tmp_path: Path
) -> None:
    pg.create_database("r5", template=TEMPLATE)
    signer = Signer()
    source = EventSource(signer)
    sent = source.sent

    with own_redis() as redis_url:
        env = django_env(
            "tests.integrations.inbox.broker_settings",
            DATABASE_URL=pg.url("r5"),
            REDIS_URL=redis_url,
            CELERY_BROKER_URL=redis_url,
            GHL_WEBHOOK_ED25519_KEYS=signer.ed_public,
            GHL_WEBHOOK_RSA_KEYS=signer.rsa_public,
        )
        with gunicorn(env, tmp_path / "gunicorn.log") as base:
            answers, marks = asyncio.run(
                burst_through_outage(
                    [base], iter(source), lambda: pg.stop(immediate=True), pg.start
                )
            )
            stored = set(inbox_rows(pg, "r5"))
            _check_burst(answers, marks, stored, {seq: sent[seq][0] for seq in sent})

            # GHL's retries of the 429s (after its ~10 minutes): all taken now; a 429 whose
            # row was committed anyway is a duplicate, never a second row.
            retried = asyncio.run(
                redeliver(base, sent, [a.event for a in answers if a.status == 429])
            )
            assert {a.status for a in retried} <= {200}, Counter(
                (a.status, a.outcome) for a in retried
            )
            assert all((a.outcome == "duplicate") == (sent[a.event][0] in stored)
                       for a in retried)  # fmt: skip
            # GHL delivering again some events it had a 200 for.
            again = asyncio.run(
                redeliver(base, sent, [a.event for a in answers if a.status == 200][:50])
            )
            assert [(a.status, a.outcome) for a in again] == [(200, "duplicate")] * 50

        rows = inbox_rows(pg, "r5")
        assert set(rows) == {webhook_id for webhook_id, _, _ in sent.values()}
        # The workers are asked for drains, a handful for the whole burst, never one per event.
        accepted_total = sum(1 for a in answers + retried if a.outcome == "accepted")
        drains = _queued_tasks(redis_url)
        assert set(drains) == {"integrations.tasks.inbound_events_drain"}
        assert len(drains) < accepted_total / 10, (len(drains), accepted_total)
        with celery_worker(env, tmp_path / "worker.log", queues="webhooks,maintenance"):
            # A drain takes every pending row, including those committed while the answer was
            # a 429 (no sweep needed); each is processed once.
            _wait_succeeded(pg, len(rows))
            # Nothing is pending any more, so the minutely sweep finds nothing to hand over.
            assert _sweep_three_minutes_later(pg, redis_url) == 0
        assert {row[:3] for row in inbox_rows(pg, "r5").values()} == {("succeeded", 1, "")}


def _check_burst(
    answers: list[Answer], marks: dict[str, int], stored: set[str], webhook_id: dict[int, str]
) -> None:
    statuses = Counter(a.status for a in answers)
    sys.stderr.write(f"R5 burst: {dict(statuses)} {marks}, {len(stored)} rows after restart\n")
    assert set(statuses) <= {200, 429}, Counter((a.status, a.outcome) for a in answers)
    outage = answers[marks["down"] : marks["up"]]
    assert sum(1 for a in outage if a.status == 429) >= PHASE // 2, statuses
    assert all(a.retry_after for a in answers if a.status == 429)
    assert all(a.outcome == "accepted" for a in answers if a.status == 200)
    # Durable before the 2xx: every event answered 200 survived the crash.
    accepted = {webhook_id[a.event] for a in answers if a.status == 200}
    assert accepted <= stored, f"{len(accepted - stored)} events lost after a 200"
    assert stored <= set(webhook_id.values())


def _queued_tasks(redis_url: str) -> list[str]:
    """The names of the tasks waiting in the `webhooks` queue."""
    return [
        json.loads(raw)["headers"]["task"]
        for raw in redis.Redis.from_url(redis_url).lrange("webhooks", 0, -1)
    ]
