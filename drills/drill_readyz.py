"""The readiness probe follows the engines: a load balancer must stop sending traffic within
seconds of the database or Redis going away, and resume once they are back."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from drills.harness import Outcome, Stage, wait_until
from drills.topology import gunicorn, own_redis_server

LIMIT_S = 5.0
# As a load balancer's probe: with Redis gone one readiness answer takes ~2 s (the broker
# check's one retry), longer on a busy machine; a shorter timeout would miss the 503.
PROBE_TIMEOUT_S = 5.0


SLOWEST: dict[str, float] = {}  # the slowest probe answer per status, for the report


def _status(base: str) -> int:
    started = time.monotonic()
    try:
        answer = httpx.get(f"{base}/readyz", headers={"Host": "localhost"}, timeout=PROBE_TIMEOUT_S)
    except httpx.TransportError:
        return 0
    took = time.monotonic() - started
    key = f"slowest_{answer.status_code}_probe_s"
    SLOWEST[key] = round(max(SLOWEST.get(key, 0.0), took), 2)
    return answer.status_code


def _measure(base: str, want: int, action: Callable[[], None]) -> float:
    """Seconds from the moment `action` (a stop or a start) is begun to the first `want`. The
    action runs on a thread: a stop returns only once the engine is gone, and the probe must
    see what a load balancer sees meanwhile."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        started = time.monotonic()
        done = pool.submit(action)
        wait_until(lambda: _status(base) == want, f"/readyz {want}", timeout=30, step=0.05)
        seconds = time.monotonic() - started
        done.result()
    return seconds


def drill_readyz(stage: Stage) -> Outcome:
    """Method: gunicorn (2 workers) on the drill's own PostgreSQL and Redis; /readyz (Host:
    localhost) is probed every 50 ms. PostgreSQL is stopped (fast shutdown), then started again;
    then Redis is stopped and started again. Each time the seconds from the stop (start) to the
    first 503 (200) are measured. Pass: ready before, and every transition within 5 s."""
    database = stage.database("readyz")
    with own_redis_server() as redis_server:
        env = stage.env(database=database, redis_url=redis_server.url)
        with gunicorn(env, stage.log("readyz-gunicorn")) as base:
            before = _status(base)
            times = {
                "pg_down": _measure(base, 503, stage.pg.stop),
                "pg_up": _measure(base, 200, stage.pg.start),
                "redis_down": _measure(base, 503, redis_server.stop),
                "redis_up": _measure(base, 200, redis_server.start),
            }
    figures = {**{k: round(v, 2) for k, v in times.items()}, **SLOWEST}
    return Outcome(
        expected=f"200 before; 503 within {LIMIT_S:.0f} s of each stop, 200 within "
        f"{LIMIT_S:.0f} s of each start",
        happened=(
            f"{before} before; PostgreSQL stop→503 {times['pg_down']:.2f} s, start→200 "
            f"{times['pg_up']:.2f} s; Redis stop→503 {times['redis_down']:.2f} s, start→200 "
            f"{times['redis_up']:.2f} s"
        ),
        passed=before == 200 and all(v <= LIMIT_S for v in times.values()),
        figures=figures,
    )
