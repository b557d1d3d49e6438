"""The GHL rate governor against the real Redis: strict windows on a dense simulated timeline and
under real multi-process contention, priorities and the daily reserve, corrections from GHL's
headers, the async face, and a governed client that meets no 429 at the GHL stand-in."""

from __future__ import annotations

import asyncio
import heapq
import math
import multiprocessing
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis
import redis.asyncio
from django.conf import settings

from integrations.ghl import governor as governor_module
from integrations.ghl.governor import (
    DailyBudgetExhausted,
    GovernorTimeout,
    Priority,
    RateGovernor,
    get_governor,
)

RES = "LocGovernorTest00001"
DAY_MS = 86_400_000
T0 = 1_700_000_000_000.0  # 2023-11-14 22:13:20 UTC: a simulated clock, mid-day
INT, HOOK, BULK = Priority.INTERACTIVE, Priority.WEBHOOK, Priority.BULK

MakeGovernor = Callable[..., RateGovernor]


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def make_governor(redis_client: redis.Redis) -> Iterator[MakeGovernor]:
    """Governors under a fresh app id each, so tests never share keys; the keys go afterwards."""
    made: list[RateGovernor] = []

    def make(**options: Any) -> RateGovernor:
        config: dict[str, Any] = {"limit": 10, "window_ms": 1000, "safety_ms": 0}
        config["interactive_reserve"] = 0
        gov = RateGovernor(redis_client, app_id=f"t-{uuid.uuid4().hex}", **(config | options))
        made.append(gov)
        return gov

    yield make
    for gov in made:
        keys = list(redis_client.scan_iter(match=f"{gov.prefix}:{gov.app_id}:*"))
        if keys:
            redis_client.delete(*keys)


def violations(stamps: list[float], limit: int, span_ms: float) -> list[tuple[float, float]]:
    """Pairs (t_i, t_i+limit) closer than span: limit + 1 grants inside one window."""
    ordered = sorted(stamps)
    return [
        (ordered[i], ordered[i + limit])
        for i in range(len(ordered) - limit)
        if ordered[i + limit] - ordered[i] < span_ms - 1e-3
    ]


def efficiency(stamps: list[float], limit: int, window_ms: float) -> float:
    """Windows' worth of grants over the time they took, against the fastest lawful schedule.

    The (m·limit + 1)-th grant cannot come earlier than m windows after the first."""
    ordered = sorted(stamps)
    windows = (len(ordered) - 1) // limit
    assert windows >= 2, f"too few grants to judge: {len(ordered)}"
    return windows * window_ms / (ordered[windows * limit] - ordered[0])


def test_the_checks_themselves_can_fail() -> None:
    assert violations([0, 1, 2], limit=2, span_ms=10) == [(0, 2)]
    assert violations([0, 1, 10], limit=2, span_ms=10) == []
    assert efficiency([0, 0, 10, 10, 25], limit=2, window_ms=10) == pytest.approx(20 / 25)


# --- strictness on a dense simulated timeline -----------------------------------------------------


@dataclass
class Client:
    priority: Priority
    period_ms: float | None = None  # periodic demand; None = always wants the next turn


def simulate(
    gov: RateGovernor, clients: list[Client], duration_ms: float, seed: int = 7
) -> list[tuple[float, int, float]]:
    """Event-driven callers that behave like ``wait_turn``: on a refusal they come back exactly
    when told. Returns (grant time, client index, waited ms)."""
    rng = random.Random(seed)
    starts = [T0 + rng.uniform(0, 3) for _ in clients]
    heap = [(t, i, t) for i, t in enumerate(starts)]
    heapq.heapify(heap)
    grants: list[tuple[float, int, float]] = []
    while heap:
        now, i, asked = heapq.heappop(heap)
        now = round(now, 3)  # the governor keeps microseconds
        if now > T0 + duration_ms:
            continue
        grant = gov.acquire(RES, clients[i].priority, now_ms=now)
        if not grant.granted:
            assert grant.reason == "window" and grant.wait_ms > 0
            heapq.heappush(heap, (now + grant.wait_ms, i, asked))
            continue
        assert grant.at_ms == pytest.approx(now, abs=1e-3)
        grants.append((now, i, now - asked))
        period = clients[i].period_ms
        nxt = asked + period if period else now + rng.uniform(0, 8)  # the request's own time
        heapq.heappush(heap, (max(nxt, now), i, max(nxt, now)))
    return grants


def test_dense_timeline_never_exceeds_the_limit_and_uses_it_fully(
    make_governor: MakeGovernor,
) -> None:
    gov = make_governor(limit=7, window_ms=100, safety_ms=3, interactive_reserve=2)
    clients = [Client(BULK) for _ in range(6)] + [Client(INT), Client(HOOK), Client(INT)]
    grants = simulate(gov, clients, duration_ms=3000)
    stamps = [t for t, _, _ in grants]
    assert len(stamps) > 150
    assert violations(stamps, 7, 103) == []
    # Bursts of 7 every 103 ms: the margin is the only loss.
    assert efficiency(stamps, 7, 100) >= 100 / 103 - 0.01


def test_a_refusal_names_the_exact_moment_the_turn_comes(make_governor: MakeGovernor) -> None:
    gov = make_governor(limit=3, window_ms=1000, safety_ms=10)
    for offset in (0, 100, 400):
        assert gov.acquire(RES, INT, now_ms=T0 + offset).granted
    refused = gov.acquire(RES, INT, now_ms=T0 + 500)
    assert (refused.granted, refused.reason, refused.wait_ms) == (False, "window", 510)
    assert not gov.acquire(RES, INT, now_ms=T0 + 1009.999).granted
    assert gov.acquire(RES, INT, now_ms=T0 + 1010).granted
    # The next one waits for the second-oldest grant (T0 + 100) to leave.
    assert gov.acquire(RES, INT, now_ms=T0 + 1010).wait_ms == pytest.approx(100)


# --- priorities and the daily reserve -------------------------------------------------------------


def test_bulk_leaves_the_reserve_to_interactive_and_webhook_work(
    make_governor: MakeGovernor,
) -> None:
    gov = make_governor(limit=10, window_ms=1000, interactive_reserve=3)
    bulk = [gov.acquire(RES, BULK, now_ms=T0 + n) for n in range(8)]
    assert [g.granted for g in bulk] == [True] * 7 + [False]
    assert bulk[-1].window_limit == 7 and bulk[-1].wait_ms == pytest.approx(1000 - 7)
    assert gov.acquire(RES, HOOK, now_ms=T0 + 10).granted
    assert gov.acquire(RES, INT, now_ms=T0 + 11).granted
    assert gov.acquire(RES, INT, now_ms=T0 + 12).granted
    assert gov.acquire(RES, INT, now_ms=T0 + 13).reason == "window"
    # When the oldest slot frees, the window holds 9 >= 7: it goes to the person, not to bulk.
    assert not gov.acquire(RES, BULK, now_ms=T0 + 1000).granted
    assert gov.acquire(RES, INT, now_ms=T0 + 1000).granted


def test_under_saturating_bulk_interactive_requests_never_wait(make_governor: MakeGovernor) -> None:
    gov = make_governor(limit=10, window_ms=100, safety_ms=2, interactive_reserve=2)
    clients = [Client(BULK) for _ in range(10)] + [Client(INT, period_ms=60)]
    grants = simulate(gov, clients, duration_ms=2000)
    interactive = [waited for _, i, waited in grants if i == 10]
    assert len(interactive) >= 30 and max(interactive) < 1e-3
    stamps = sorted(t for t, _, _ in grants)
    assert violations(stamps, 10, 102) == []
    # Bulk was only ever admitted into a window holding fewer than 8 turns of any kind ...
    for n, (t, i, _) in enumerate(grants):
        if i < 10:
            assert sum(1 for u, _, _ in grants[: n + 1] if u > t - 102) <= 8
    # ... and it still kept the window at least that full.
    assert len(stamps) >= 8 * 19


def test_bulk_pauses_under_the_daily_reserve_and_the_budget_returns_next_day(
    make_governor: MakeGovernor,
) -> None:
    gov = make_governor(limit=100, daily_limit=20, daily_bulk_reserve=0.25)
    for n in range(15):
        assert gov.acquire(RES, BULK, now_ms=T0 + n).granted
    paused = gov.acquire(RES, BULK, now_ms=T0 + 20)
    midnight = math.ceil(T0 / DAY_MS) * DAY_MS
    assert (paused.reason, paused.daily_remaining) == ("daily", 5)
    assert paused.wait_ms == pytest.approx(midnight - (T0 + 20))
    for n in range(5):
        assert gov.acquire(RES, INT, now_ms=T0 + 30 + n).granted
    spent = gov.acquire(RES, HOOK, now_ms=T0 + 40)
    assert (spent.granted, spent.reason, spent.daily_remaining) == (False, "daily", 0)
    assert gov.acquire(RES, BULK, now_ms=midnight + 1).granted
    assert gov.stats(RES, now_ms=midnight + 2).daily_remaining == 19


def test_wait_turn_raises_rather_than_sleeping_through_the_day(
    make_governor: MakeGovernor,
) -> None:
    gov = make_governor(daily_limit=2)
    gov.wait_turn(RES, INT)
    gov.wait_turn(RES, INT)
    started = time.monotonic()
    with pytest.raises(DailyBudgetExhausted) as caught:
        gov.wait_turn(RES, INT, timeout=None)
    assert time.monotonic() - started < 2  # it raised instead of sleeping
    assert 0 < caught.value.retry_after_s <= 86_400


def test_wait_turn_gives_up_at_once_when_the_turn_is_beyond_the_timeout(
    make_governor: MakeGovernor,
) -> None:
    gov = make_governor(limit=1, window_ms=5000)
    first = gov.wait_turn(RES, INT)
    assert first.granted and first.waited_s < 0.5
    started = time.monotonic()
    with pytest.raises(GovernorTimeout) as caught:
        gov.wait_turn(RES, INT, timeout=1.0)
    assert time.monotonic() - started < 2 and caught.value.wait_s > 4


def test_wait_turn_sleeps_until_the_slot_frees(make_governor: MakeGovernor) -> None:
    gov = make_governor(limit=2, window_ms=250, safety_ms=5)
    gov.wait_turn(RES, INT)
    gov.wait_turn(RES, INT)
    third = gov.wait_turn(RES, INT, timeout=2)
    assert 0.2 <= third.waited_s < 0.45


# --- corrections from GHL's headers ---------------------------------------------------------------


def rl_headers(
    remaining: int, *, limit: int = 10, interval: int = 1000, **extra: str
) -> dict[str, str]:
    return {
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Max": str(limit),
        "X-RateLimit-Interval-Milliseconds": str(interval),
        "X-RateLimit-Daily-Remaining": extra.get("daily_remaining", "199000"),
        "X-RateLimit-Limit-Daily": extra.get("daily_limit", "200000"),
    }


def test_an_answer_restamps_its_grant_so_a_slow_request_holds_its_slot_longer(
    make_governor: MakeGovernor,
) -> None:
    gov = make_governor(limit=2, window_ms=1000)
    first = gov.acquire(RES, INT, now_ms=T0)
    gov.acquire(RES, INT, now_ms=T0 + 1)
    # The first request's answer came 300 ms later: GHL may have counted it as late as that.
    gov.observe(RES, {}, status=200, grant=first, now_ms=T0 + 300)
    assert gov.acquire(RES, INT, now_ms=T0 + 1001).granted  # the second one left
    assert gov.acquire(RES, INT, now_ms=T0 + 1002).wait_ms == pytest.approx(298)


def test_only_an_answer_later_than_the_safety_margin_moves_the_slot(
    make_governor: MakeGovernor,
) -> None:
    gov = make_governor(limit=1, window_ms=1000, safety_ms=50)
    quick = gov.acquire(RES, INT, now_ms=T0)
    gov.observe(RES, {}, status=200, grant=quick, now_ms=T0 + 40)  # within the margin
    assert gov.acquire(RES, INT, now_ms=T0 + 100).wait_ms == pytest.approx(950)
    slow = gov.acquire(RES, INT, now_ms=T0 + 1050)
    gov.observe(RES, {}, status=200, grant=slow, now_ms=T0 + 1050 + 250)
    # Stamped at answer - margin: it leaves 1000 ms after the answer, GHL's latest count.
    assert gov.acquire(RES, INT, now_ms=T0 + 1400).wait_ms == pytest.approx(900)


def test_observe_restamps_the_last_grant_of_this_thread_once(make_governor: MakeGovernor) -> None:
    gov = make_governor(limit=2, window_ms=1000)
    gov.acquire(RES, INT, now_ms=T0)
    gov.acquire(RES, INT, now_ms=T0 + 1)
    gov.observe("AnotherLocation00001", {}, status=200, now_ms=T0 + 100)  # not this resource's
    gov.observe(RES, {}, status=200, now_ms=T0 + 300)  # the grant at T0 + 1
    gov.observe(RES, {}, status=200, now_ms=T0 + 600)  # nothing left to restamp
    assert gov.acquire(RES, INT, now_ms=T0 + 1000.5).granted
    assert gov.acquire(RES, INT, now_ms=T0 + 1001.5).wait_ms == pytest.approx(298.5)


def test_an_answer_slower_than_the_window_brings_its_slot_back(make_governor: MakeGovernor) -> None:
    gov = make_governor(limit=2, window_ms=1000)
    grant = gov.acquire(RES, INT, now_ms=T0)
    assert gov.stats(RES, now_ms=T0 + 1500).window_used == 0
    gov.observe(RES, {}, status=200, grant=grant, now_ms=T0 + 1500)
    assert gov.stats(RES, now_ms=T0 + 1500).window_used == 1


def test_fewer_remaining_at_ghl_reserves_phantom_slots(make_governor: MakeGovernor) -> None:
    gov = make_governor(limit=10, window_ms=1000, daily_limit=200_000)
    for n in range(2):
        assert gov.acquire(RES, INT, now_ms=T0 + n).granted
    # GHL counted 6 in its window (someone else sent 4).
    gov.observe(RES, rl_headers(4), status=200, now_ms=T0 + 10)
    stats = gov.stats(RES, now_ms=T0 + 10)
    assert (stats.window_used, stats.phantoms) == (6, 4)
    gov.observe(RES, rl_headers(4), status=200, now_ms=T0 + 11)  # the same news twice
    assert gov.stats(RES, now_ms=T0 + 11).window_used == 6
    # More remaining than we think never loosens.
    gov.observe(RES, rl_headers(9), status=200, now_ms=T0 + 12)
    assert gov.stats(RES, now_ms=T0 + 12).window_used == 6
    granted = [gov.acquire(RES, INT, now_ms=T0 + 20 + n).granted for n in range(5)]
    assert granted == [True] * 4 + [False]
    # Phantoms expire a window after they were learned of.
    assert gov.stats(RES, now_ms=T0 + 1010.001).phantoms == 0


def test_a_late_answer_is_compared_with_the_window_at_its_grant(
    make_governor: MakeGovernor,
) -> None:
    gov = make_governor(limit=5, window_ms=1000)
    for n in range(3):
        gov.acquire(RES, INT, now_ms=T0 + n)
    gov.acquire(RES, INT, now_ms=T0 + 900)
    last = gov.acquire(RES, INT, now_ms=T0 + 901)
    # GHL saw all five (none left); the answer is read after the first three left both windows.
    gov.observe(RES, rl_headers(0, limit=5), status=200, grant=last, now_ms=T0 + 1100)
    stats = gov.stats(RES, now_ms=T0 + 1100)
    assert (stats.window_used, stats.phantoms) == (2, 0)


def test_a_429_blocks_the_resource_for_the_interval(make_governor: MakeGovernor) -> None:
    gov = make_governor(limit=10, window_ms=1000, safety_ms=20)
    assert gov.acquire(RES, INT, now_ms=T0).granted
    headers = {k.lower(): v for k, v in rl_headers(0, interval=1000).items()}  # any case
    gov.observe(RES, headers, status=429, now_ms=T0 + 50)
    blocked = gov.acquire(RES, INT, now_ms=T0 + 60)
    assert (blocked.reason, blocked.wait_ms) == ("blocked", pytest.approx(1010))
    assert gov.stats(RES, now_ms=T0 + 60).blocked_ms == pytest.approx(1010)
    assert not gov.acquire(RES, INT, now_ms=T0 + 1069).granted
    assert gov.acquire(RES, INT, now_ms=T0 + 1070).granted


def test_a_429_with_no_daily_budget_left_waits_for_the_next_day(
    make_governor: MakeGovernor,
) -> None:
    gov = make_governor()
    gov.observe(RES, rl_headers(3, daily_remaining="0"), status=429, now_ms=T0)
    assert gov.acquire(RES, INT, now_ms=T0 + 5000).reason == "daily"


def test_tighter_server_limits_are_adopted_and_looser_ones_ignored(
    make_governor: MakeGovernor,
) -> None:
    gov = make_governor(limit=10, window_ms=1000, daily_limit=1000)
    gov.observe(
        RES,
        rl_headers(5, limit=5, interval=2000, daily_limit="500", daily_remaining="500"),
        status=200,
        now_ms=T0,
    )
    stats = gov.stats(RES, now_ms=T0)
    assert (stats.window_limit, stats.window_ms, stats.daily_limit) == (5, 2000, 500)
    gov.observe(
        RES,
        rl_headers(50, limit=50, interval=100, daily_limit="9000", daily_remaining="9000"),
        status=200,
        now_ms=T0 + 1,
    )
    stats = gov.stats(RES, now_ms=T0 + 1)
    assert (stats.window_limit, stats.window_ms, stats.daily_limit) == (10, 1000, 1000)


def test_daily_remaining_from_ghl_only_lowers_our_budget(make_governor: MakeGovernor) -> None:
    gov = make_governor(daily_limit=1000)
    gov.acquire(RES, INT, now_ms=T0)
    gov.observe(
        RES, rl_headers(9, daily_remaining="990", daily_limit="1000"), status=200, now_ms=T0 + 1
    )
    assert gov.stats(RES, now_ms=T0 + 1).daily_used == 10
    gov.observe(
        RES, rl_headers(9, daily_remaining="999", daily_limit="1000"), status=200, now_ms=T0 + 2
    )
    assert gov.stats(RES, now_ms=T0 + 2).daily_used == 10


def test_garbled_or_missing_headers_change_nothing(make_governor: MakeGovernor) -> None:
    gov = make_governor()
    gov.acquire(RES, INT, now_ms=T0)
    gov.observe(
        RES, {"X-RateLimit-Remaining": "lots", "X-RateLimit-Max": "-1"}, status=200, now_ms=T0 + 1
    )
    gov.observe(RES, {}, status=500, now_ms=T0 + 2)
    stats = gov.stats(RES, now_ms=T0 + 3)
    assert (stats.window_used, stats.window_limit, stats.blocked_ms) == (1, 10, 0)


# --- plumbing -------------------------------------------------------------------------------------


def test_a_redis_that_forgot_the_script_is_given_it_again(
    make_governor: MakeGovernor, monkeypatch: pytest.MonkeyPatch
) -> None:
    gov = make_governor()
    monkeypatch.setattr(governor_module, "SHA", "0" * 40)  # as if after SCRIPT FLUSH
    assert gov.acquire(RES, INT).granted
    assert gov.stats(RES).window_used == 1


def test_get_governor_reads_settings(settings: Any) -> None:
    settings.GHL_CLIENT_ID = "abc123-xyz"
    settings.GHL_RATE_BURST_LIMIT, settings.GHL_RATE_WINDOW_MS = 50, 5000
    settings.GHL_RATE_SAFETY_MS, settings.GHL_RATE_INTERACTIVE_RESERVE = 100, 5
    settings.GHL_RATE_DAILY_LIMIT, settings.GHL_DAILY_BULK_RESERVE = 1000, 0.2
    gov = get_governor()
    assert gov is get_governor()
    assert (gov.app_id, gov.limit, gov.window_ms, gov.safety_ms) == ("abc123", 50, 5000, 100)
    assert (gov.interactive_reserve, gov.daily_limit, gov.daily_bulk_reserve) == (5, 1000, 0.2)
    settings.GHL_RATE_KEY_PREFIX = "p"
    assert get_governor().keys("Loc1") == ("p:abc123:Loc1", "p:abc123:Loc1:meta")


@pytest.mark.parametrize("native", [True, False], ids=["redis.asyncio", "to_thread"])
def test_wait_turn_async_is_strict(make_governor: MakeGovernor, native: bool) -> None:
    url = settings.REDIS_URL
    made: list[redis.asyncio.Redis] = []

    def factory() -> redis.asyncio.Redis:
        made.append(redis.asyncio.Redis.from_url(url))
        return made[-1]

    gov = make_governor(
        limit=5, window_ms=300, safety_ms=5, async_client_factory=factory if native else None
    )

    async def main() -> list[float]:
        async def one() -> float:
            grant = await gov.wait_turn_async(RES, INT, timeout=5)
            return float(grant.at_ms or 0)

        stamps = await asyncio.gather(*(one() for _ in range(16)))
        await gov.aclose()
        return list(stamps)

    stamps = asyncio.run(main())
    assert len(made) == (1 if native else 0)
    assert violations(stamps, 5, 305) == []
    assert max(stamps) - min(stamps) == pytest.approx(3 * 305, abs=60)


def test_observe_from_a_coroutine_does_not_block_the_loop_yet_takes_effect(
    make_governor: MakeGovernor,
) -> None:
    url = settings.REDIS_URL
    gov = make_governor(
        limit=5, window_ms=1000, async_client_factory=lambda: redis.asyncio.Redis.from_url(url)
    )

    async def main() -> int:
        await gov.wait_turn_async(RES, INT)
        gov.observe(RES, rl_headers(0, limit=5), status=429)  # scheduled on the loop
        pending = len(gov._observing)
        await gov.aclose()  # lets it finish
        return pending

    assert asyncio.run(main()) == 1
    stats = gov.stats(RES)
    assert stats.blocked_ms > 900 and stats.window_used == 5


# --- real concurrency: processes x threads --------------------------------------------------------

HAMMER = {"limit": 20, "window_ms": 1000, "safety_ms": 5, "interactive_reserve": 2}


def _hammer(
    url: str, app_id: str, threads: int, seconds: float, ready: Any, go: Any, out: Any
) -> None:
    """One worker process: `threads` threads take turns as fast as the governor allows."""
    gov = RateGovernor(redis.Redis.from_url(url), app_id=app_id, **HAMMER)
    gov.stats(RES)  # connect and load the script before the clock starts
    ready.put(1)
    go.wait(30)
    deadline = time.monotonic() + seconds
    grants: list[tuple[float, int, float]] = []
    lock = threading.Lock()

    def work(priority: Priority) -> None:
        rng = random.Random()
        while (left := deadline - time.monotonic()) > 0:
            try:
                grant = gov.wait_turn(RES, priority, timeout=left)
            except GovernorTimeout:
                return
            with lock:
                grants.append((float(grant.at_ms or 0), int(priority), grant.waited_s))
            time.sleep(rng.uniform(0, 0.004))  # the request itself

    pool = [threading.Thread(target=work, args=(INT if n == 0 else BULK,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    out.put(grants)


@pytest.mark.concurrency
def test_processes_and_threads_share_one_strict_and_full_window(
    make_governor: MakeGovernor,
) -> None:
    app_id = make_governor().app_id  # only for its key cleanup
    ctx = multiprocessing.get_context("spawn")
    ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(target=_hammer, args=(settings.REDIS_URL, app_id, 4, 3.5, ready, go, out))
        for _ in range(4)
    ]
    for proc in procs:
        proc.start()
    try:
        for _ in procs:
            ready.get(timeout=60)
        go.set()
        results = [out.get(timeout=30) for _ in procs]
    except queue.Empty:
        pytest.fail("a worker process did not report")
    finally:
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
    stamps = [t for rows in results for t, _, _ in rows]
    assert all(rows for rows in results), "every process got turns"
    assert violations(stamps, 20, 1005) == []
    assert efficiency(stamps, 20, 1000) >= 0.95
    interactive = [t for rows in results for t, p, _ in rows if p == INT]
    assert len(interactive) >= 2 * 3  # the reserve is used by the interactive threads


# --- end to end: the stand-in never answers 429 ---------------------------------------------------


def test_a_governed_client_meets_no_429_at_the_standin(make_governor: MakeGovernor) -> None:
    from sandbox.ghl.testing import StandIn

    location = "DemoLocApexDubai0001"
    # 10 per 10 s of stand-in time at 20x: 10 per 500 ms of real time.
    config = {"rate_limits": {"burst_max": 10, "burst_window_s": 10.0}}
    with StandIn(scenario="demo", time_factor=20, config=config) as ghl:
        token = ghl.mint_token(location_id=location)["access_token"]
        gov = make_governor(limit=10, window_ms=500, safety_ms=15)
        path = f"/locations/{location}"
        statuses: list[int] = []

        def client() -> None:
            with httpx.Client(base_url=ghl.base_url, timeout=10, trust_env=False) as http:
                for _ in range(10):
                    gov.wait_turn(RES, BULK, timeout=10)
                    response = http.get(path, headers=ghl.api_headers(token, path))
                    gov.observe(RES, response.headers, status=response.status_code)
                    statuses.append(response.status_code)

        started = time.monotonic()
        pool = [threading.Thread(target=client) for _ in range(4)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        elapsed = time.monotonic() - started
        counters = ghl.counters(location)
    assert statuses == [200] * 40
    assert (counters["requests"], counters["rate_limited"]) == (40, 0)
    # Never faster than the limit allows; the upper bound only rules out gross over-throttling.
    assert 3 * 0.5 <= elapsed < 3 * 0.515 + 2.0
