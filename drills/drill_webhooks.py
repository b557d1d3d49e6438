"""Webhook bursts through an engine outage: PostgreSQL crashed, Redis restarted. GHL retries a
delivery only after a 429, so a 5xx, or a 200 for an event then lost, loses the event for good."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import psycopg
from celery import Celery

from drills.burst import FINAL, Answer, EventSource, burst_through_outage, inbox_rows, redeliver
from drills.harness import Outcome, Stage, wait_until
from drills.topology import OwnPostgres, celery_worker, gunicorn, own_redis_server
from tests.integrations.ghl.signing import Signer


def webhook_env(stage: Stage, database: str, redis_url: str, signer: Signer) -> dict[str, str]:
    return stage.env(
        database=database,
        redis_url=redis_url,
        GHL_WEBHOOK_ED25519_KEYS=signer.ed_public,
        GHL_WEBHOOK_RSA_KEYS=signer.rsa_public,
    )


def sweep_now(pg: OwnPostgres, database: str, redis_url: str) -> int:
    """What the beat's minutely sweep does once rows have waited over 2 minutes: pending rows
    are aged by 3 minutes, then the real sweep task is sent to the workers."""
    with psycopg.connect(pg.conninfo(database)) as conn:
        aged = conn.execute(
            "UPDATE integrations_inboundevent SET received_at = received_at - interval '3 min'"
            " WHERE status = 'pending'"
        ).rowcount
    with Celery(broker=redis_url) as app:
        app.send_task("integrations.tasks.inbound_events_sweep", queue="maintenance")
    return aged


def wait_processed(pg: OwnPostgres, database: str, how_many: int, timeout: float = 90) -> None:
    def done() -> bool:
        rows = inbox_rows(pg, database).values()
        return sum(1 for row in rows if row[0] in FINAL) >= how_many

    wait_until(done, f"{how_many} events processed", timeout=timeout, step=0.2)


def tally(
    answers: list[Answer], retried: list[Answer], source: EventSource, rows: dict[str, Any]
) -> dict[str, Any]:
    """The figures every webhook drill reports, from the sender's answers and the inbox rows."""
    statuses = Counter(a.status for a in answers)
    sent = set(source.webhook_ids().values())
    accepted = {source.sent[a.event][0] for a in answers + retried if a.status == 200}
    return {
        "events": len(sent),
        "200": statuses.get(200, 0),
        "429": statuses.get(429, 0),
        "5xx": sum(n for s, n in statuses.items() if s is not None and s >= 500),
        "no_answer": statuses.get(None, 0),
        "retried": len(retried),
        "retry_not_200": sum(1 for a in retried if a.status != 200),
        "rows": len(rows),
        "lost": len(sent - set(rows)) + len(accepted - set(rows)),
        "duplicates": len(set(rows) - sent),
        "processed_once": sum(1 for r in rows.values() if r[0] == "succeeded" and r[1] == 1),
        "not_once": sum(1 for r in rows.values() if not (r[0] == "succeeded" and r[1] == 1)),
    }


def _verdict(figures: dict[str, Any], outage_429s: int | None) -> Outcome:
    passed = (
        figures["5xx"] == 0
        and figures["no_answer"] == 0
        and figures["retry_not_200"] == 0
        and figures["lost"] == 0
        and figures["duplicates"] == 0
        and figures["rows"] == figures["events"] == figures["processed_once"]
    )
    during = "" if outage_429s is None else f", {outage_429s} of them 429 while down"
    return Outcome(
        expected="only 200/429 answers (0 5xx); after GHL's retries of the 429s one row per "
        "event, each processed exactly once: 0 lost, 0 duplicates",
        happened=(
            f"{figures['events']} events: {figures['200']}x200, {figures['429']}x429{during}, "
            f"{figures['5xx']}x5xx; {figures['retried']} retried; {figures['rows']} rows, "
            f"{figures['processed_once']} processed once, {figures['lost']} lost, "
            f"{figures['duplicates']} duplicates"
        ),
        passed=passed,
        figures=figures,
    )


def drill_postgres_stop(stage: Stage) -> Outcome:
    """Method: gunicorn (2 workers x 4 threads) on the drill's own PostgreSQL and Redis; 8
    senders deliver signed events (~160/s); after 100 answers of 200 PostgreSQL is crashed
    (immediate shutdown, SIGQUIT: no checkpoint, crash recovery at the next start), 100 more
    deliveries are answered while it is down, then it is started and 100 more succeed. GHL's
    retries of the 429s follow; then a Celery worker drains the inbox (and the sweep runs once).
    Pass: 0 5xx and 0 unanswered; every 429 retry is a 200; one row per event, each processed
    exactly once (succeeded, 1 attempt): 0 lost, 0 duplicates."""
    database = stage.database("pgstop")
    signer = Signer()
    source = EventSource(signer)
    pg = stage.pg
    with own_redis_server() as redis_server:
        env = webhook_env(stage, database, redis_server.url, signer)
        with gunicorn(env, stage.log("pgstop-gunicorn")) as base:
            answers, marks = asyncio.run(
                burst_through_outage(
                    [base], iter(source), lambda: pg.stop(immediate=True), pg.start
                )
            )
            retried = asyncio.run(
                redeliver(base, source.sent, [a.event for a in answers if a.status == 429])
            )
        with celery_worker(env, stage.log("pgstop-worker"), queues="webhooks,maintenance"):
            sweep_now(pg, database, redis_server.url)
            wait_processed(pg, database, len(source.sent))
    rows = inbox_rows(pg, database)
    outage = answers[marks["down"] : marks["up"]]
    return _verdict(tally(answers, retried, source, rows), sum(a.status == 429 for a in outage))


def drill_redis_restart(stage: Stage) -> Outcome:
    """Method: gunicorn and a Celery worker (webhooks and maintenance queues) on the drill's own
    PostgreSQL and Redis (cache, locks and broker); 8 senders deliver signed events; after 100
    answers of 200 Redis is stopped (its queued drain requests are lost with it: it keeps no
    data across a restart), 100 deliveries are answered while it is down, then it is started
    and 100 more succeed. GHL's retries of any 429s follow; the worker must reconnect by itself;
    the beat's sweep is run once for rows whose drain was lost. Pass: 0 5xx and 0 unanswered;
    one row per event, each processed exactly once: 0 lost, 0 duplicates."""
    database = stage.database("redis")
    signer = Signer()
    source = EventSource(signer)
    pg = stage.pg
    with own_redis_server() as redis_server:
        env = webhook_env(stage, database, redis_server.url, signer)
        with (
            gunicorn(env, stage.log("redis-gunicorn")) as base,
            celery_worker(env, stage.log("redis-worker"), queues="webhooks,maintenance"),
        ):
            answers, _ = asyncio.run(
                burst_through_outage([base], iter(source), redis_server.stop, redis_server.start)
            )
            retried = asyncio.run(
                redeliver(base, source.sent, [a.event for a in answers if a.status == 429])
            )
            time.sleep(1)  # the worker's reconnection to the restarted broker
            sweep_now(pg, database, redis_server.url)
            wait_processed(pg, database, len(source.sent))
    rows = inbox_rows(pg, database)
    return _verdict(tally(answers, retried, source, rows), None)
