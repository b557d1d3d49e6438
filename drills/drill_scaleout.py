"""No local state: two web processes and three Celery workers on different queues, against
one PostgreSQL and one Redis, pass the concurrency checks of the webhook inbox and the token
vault, and the rate governor holds across processes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from contextlib import ExitStack
from typing import Any

from celery import Celery

from drills.burst import FINAL, Answer, EventSource, deliver, inbox_rows
from drills.harness import Outcome, Stage, say, wait_until
from drills.platform import DUBAI, Platform, platform
from drills.topology import ROOT, celery_worker, gunicorn, keep_alive_client
from tests.integrations.ghl.signing import Signer

EVENTS = 200
COPIES = 4  # of each event, in flight together, alternately on the two web processes
WORKERS = {"w1": "webhooks", "w2": "default", "w3": "interactive,sync,maintenance"}
REFRESH_TASKS_PER_WORKER = 6
GOVERNED_PROCESSES = 3
GOVERNED_SECONDS = 12  # more than one of GHL's 10 s windows
BURST_LIMIT = 100


async def _duplicates(bases: list[str], source: EventSource) -> list[list[Answer]]:
    async with (
        keep_alive_client(bases[0], 16) as one,
        keep_alive_client(bases[1], 16) as two,
    ):
        clients = (one, two)
        slots = asyncio.Semaphore(6)
        events = iter(source)

        async def one_event() -> list[Answer]:
            seq, body, headers = next(events)
            async with slots:
                copies = (deliver(clients[i % 2], seq, body, headers) for i in range(COPIES))
                return list(await asyncio.gather(*copies))

        return list(await asyncio.gather(*(one_event() for _ in range(EVENTS))))


def _check_webhooks(p: Platform, bases: list[str], signer: Signer) -> dict[str, Any]:
    source = EventSource(signer)
    per_event = asyncio.run(_duplicates(bases, source))

    def processed() -> bool:
        rows = inbox_rows(p.stage.pg, p.database)
        return sum(1 for r in rows.values() if r[0] in FINAL) >= len(source.sent)

    wait_until(processed, "the events processed", timeout=90, step=0.2)
    rows = inbox_rows(p.stage.pg, p.database)
    ids = set(source.webhook_ids().values())
    answers = [a for copies in per_event for a in copies]
    accepted_once = sum(
        1 for copies in per_event if sorted(a.outcome for a in copies).count("accepted") == 1
    )
    return {
        "events": len(ids),
        "deliveries": len(answers),
        "statuses": dict(Counter(a.status for a in answers)),
        "accepted_once": accepted_once,
        "rows": len(set(rows) & ids),
        "lost": len(ids - set(rows)),
        "processed_once": sum(1 for k, r in rows.items() if k in ids and r[:2] == ("succeeded", 1)),
        # status/attempts/error of the rows: tells a double processing from a failure
        "row_states": dict(
            Counter(f"{r[0]}/{r[1]}/{r[2][:60]}" for k, r in rows.items() if k in ids)
        ),
    }


def _installation(p: Platform) -> int:
    query = "SELECT id FROM integrations_ghlinstallation WHERE ghl_location_id = %s"
    return int(p.one(query, DUBAI))


def _generation(p: Platform, pk: int) -> int:
    return int(p.one("SELECT generation FROM integrations_ghltoken WHERE installation_id = %s", pk))


def _check_refresh(p: Platform, broker: str) -> dict[str, Any]:
    pk = _installation(p)
    generation = _generation(p, pk)
    before = p.ghl.counters(DUBAI)
    # Time passes: the stored token now expires within the periodic refresh's margin (1 h).
    p.sql("UPDATE integrations_ghltoken SET expires_at = now() + interval '30 min' "
          "WHERE installation_id = %s RETURNING 1", pk)  # fmt: skip
    with Celery(broker=broker) as app:
        for queue in ("webhooks", "default", "interactive"):
            for _ in range(REFRESH_TASKS_PER_WORKER):
                app.send_task("integrations.tasks.ghl_token_refresh", args=(pk,), queue=queue)
    wait_until(lambda: _generation(p, pk) != generation, "the rotation", timeout=60)
    time.sleep(3)  # every task has run by now (18 tasks, each a row lock and a re-read)
    after = p.ghl.counters(DUBAI)
    return {
        "tasks": 3 * REFRESH_TASKS_PER_WORKER,
        "ghl_refreshes": after["refreshes"] - before["refreshes"],
        "refresh_token_reuse": after["refresh_token_reuse"] - before["refresh_token_reuse"],
        "generation_moved": _generation(p, pk) - generation,
        "status": p.one("SELECT status FROM integrations_ghlinstallation WHERE id = %s", pk),
    }


def _check_governor(p: Platform) -> dict[str, Any]:
    pk = _installation(p)
    before = p.ghl.counters(DUBAI)
    started = time.monotonic()
    argv = [sys.executable, "-m", "drills.budget_child", str(GOVERNED_SECONDS), str(pk)]
    children = [
        subprocess.Popen(argv, cwd=ROOT, env=p.env, stdout=subprocess.PIPE, text=True)
        for _ in range(GOVERNED_PROCESSES)
    ]
    reports = [json.loads(c.communicate(timeout=GOVERNED_SECONDS + 60)[0].splitlines()[-1])
               for c in children]  # fmt: skip
    seconds = time.monotonic() - started
    after = p.ghl.counters(DUBAI)
    ok = sum(r[str(pk)][kind]["ok"] for r in reports for kind in ("bulk", "interactive"))
    errors = sum(r[str(pk)][kind]["errors"] for r in reports for kind in ("bulk", "interactive"))
    return {
        "processes": GOVERNED_PROCESSES,
        "seconds": round(seconds, 1),
        "calls_ok": ok,
        "errors": errors,
        "ghl_requests": after["requests"] - before["requests"],
        "ghl_429": after["rate_limited"] - before["rate_limited"],
    }


def drill_no_local_state(stage: Stage) -> Outcome:
    """Method: one PostgreSQL, one Redis, the stand-in; two gunicorn web processes on two ports
    and three Celery workers on different queues (webhooks / default / interactive+sync+
    maintenance). (1) 200 signed events, 4 copies of each in flight together, alternately on
    the two web processes. (2) The Dubai installation's token nears expiry; 6 periodic-refresh
    tasks are sent to each worker's queue at once. (3) Three processes call GHL for Dubai at
    bulk and interactive priority for 15 s. Pass: (1) every answer 200, one `accepted` per
    event, one row each, processed exactly once; (2) GHL saw exactly 1 refresh and no reuse,
    the installation is healthy; (3) GHL answered no 429 and no call failed."""
    signer = Signer()
    with ExitStack() as stack:
        p = stack.enter_context(platform(stage, "scaleout", also_trust=signer.ed_public))
        second = stack.enter_context(gunicorn(p.env, stage.log("scaleout-gunicorn-2"), workers=1))
        for name, queues in WORKERS.items():
            stack.enter_context(
                celery_worker(p.env, stage.log(f"scaleout-{name}"), queues=queues, name=name)
            )
        p.install(DUBAI)
        webhooks = _check_webhooks(p, [p.base, second], signer)
        say(f"  webhooks: {webhooks}")
        refresh = _check_refresh(p, p.redis.url)
        say(f"  refresh: {refresh}")
        governor = _check_governor(p)
        say(f"  governor: {governor}")
    checks = {
        "webhooks": webhooks["statuses"] == {200: EVENTS * COPIES}
        and webhooks["accepted_once"] == webhooks["rows"] == webhooks["processed_once"] == EVENTS
        and webhooks["lost"] == 0,
        "refresh": refresh["ghl_refreshes"] == 1
        and refresh["refresh_token_reuse"] == 0
        and refresh["generation_moved"] == 1
        and refresh["status"] == "healthy",
        "governor": governor["ghl_429"] == 0 and governor["errors"] == 0,
    }
    return Outcome(
        expected=f"{EVENTS}x{COPIES} deliveries over 2 web processes → {EVENTS} rows processed "
        f"once; {3 * REFRESH_TASKS_PER_WORKER} refresh tasks on 3 workers → 1 refresh; "
        f"{GOVERNED_PROCESSES} processes calling GHL → 0 429s",
        happened=(
            f"webhooks: {webhooks['rows']} rows, {webhooks['processed_once']} processed once, "
            f"{webhooks['lost']} lost, answers {webhooks['statuses']}; refresh: "
            f"{refresh['ghl_refreshes']} at GHL, {refresh['refresh_token_reuse']} reuse; "
            f"governor: {governor['ghl_requests']} GHL calls in {governor['seconds']} s "
            f"from {GOVERNED_PROCESSES} processes, {governor['ghl_429']} 429s"
        ),
        passed=all(checks.values()),
        figures={
            **{f"webhooks_{k}": v for k, v in webhooks.items()},
            **{f"refresh_{k}": v for k, v in refresh.items()},
            **{f"governor_{k}": v for k, v in governor.items()},
        },
    )
