"""Method: the GHL rate governor (`integrations.ghl.governor`, on the run's Redis) in front of the
GHL stand-in (`sandbox.ghl`, its own process, demo scenario) at time factor 2, so GHL's 10 s burst
window lasts 5,000 ms of real time (as the stand-in reports in `X-RateLimit-Interval-Milliseconds`);
the governor gets that window and a 50 ms safety margin (1 % of it, as 100 ms is of 10 s). Every
request goes as the product's client sends it: `wait_turn_async`, the call on httpx.AsyncClient,
then `observe` with the answer (a 429 would be observed and retried). Writes are
`PUT /contacts/{id}` (Location token, `Version: 2021-07-28`, a new first name each time), on warm
connections spread over AsyncClients of 5 connections (httpcore scans its whole pool per request,
which at ~100 connections costs more CPU than the request). For N writes to a location with limit
L per window W the least time the stand-in allows is (ceil(N/L) - 1) x W plus the time of one
batch sent at once, taken as the shorter of the run's first and last batch (first turn to last
answer); a figure is the time from the location's first turn to its last answer over that least
time. 429s are read from the stand-in's counters.
P1 = 500 writes by 100 workers to one location, L = 100 (the stand-in's default).
P2 = 50 new locations at once, 20 writes each by 5 workers, L = 5 (the stand-in's burst limit is
lowered so that the 50 x L requests released together at each window stay within what this one
machine, shared by client, stand-in and Redis, serves quickly); the figure is the worst location.
P3 = 100 coroutines looping wait_turn_async + `GET /contacts/{id}` + observe for 6 s after a 1 s
warm-up, stand-in in unlimited mode with a fixed 200 ms latency fault and burst and governor
limits too high to bind; requests/s against C / latency = 500 req/s. P3-bare is the same loop
without the governor, measured just before, for context."""

from __future__ import annotations

import asyncio
import math
import os
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import redis
import redis.asyncio

from bench.harness import ROOT, BenchContext, Figure
from integrations.ghl.governor import Priority, RateGovernor
from sandbox.ghl.testing import StandIn

ORDER = 65
COMPANY = "DemoCompanyApex00001"
P1_LOCATION = "DemoLocApexDubai0001"
P3_LOCATION = "DemoLocApexClinic001"
PROBE_LOCATION = "DemoLocBoltPlumb0001"
FACTOR = 2.0  # stand-in time runs 2x: GHL's 10 s window lasts 5,000 ms
SAFETY_MS = 50
P1_REQUESTS, P1_LIMIT = 500, 100
P2_LOCATIONS, P2_REQUESTS, P2_LIMIT = 50, 20, 5
P3_CONCURRENCY, P3_LATENCY_MS, P3_WARMUP, P3_SECONDS = 100, 200, 1.0, 6.0
PER_CLIENT = 5
T = TypeVar("T")


def _redis_url() -> str:
    if url := os.environ.get("REDIS_URL"):
        return url
    env_file = ROOT / ".run" / "engines.env"
    for line in env_file.read_text().splitlines() if env_file.exists() else ():
        name, _, value = line.removeprefix("export ").partition("=")
        if name == "REDIS_URL":
            return value.strip().strip("'\"")
    raise RuntimeError("REDIS_URL is not set (run `eval $(python tools/engines.py up)` first)")


@dataclass
class Trace:
    calls: list[tuple[float, float]] = field(default_factory=list)  # (turn, answer), monotonic
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def elapsed(self) -> float:
        return max(answer for _, answer in self.calls) - min(turn for turn, _ in self.calls)

    def ratio(self, limit: int, window_ms: float) -> float:
        """Elapsed time over the least the limit allows: (batches - 1) windows plus the time of
        one batch, the shorter of the first and the last (each sent at once when unhindered)."""
        calls = sorted(self.calls)
        batches = math.ceil(len(calls) / limit)

        def duration(batch: list[tuple[float, float]]) -> float:
            return max(answer for _, answer in batch) - batch[0][0]

        one_batch = min(duration(calls[:limit]), duration(calls[(batches - 1) * limit :]))
        return self.elapsed / ((batches - 1) * window_ms / 1000 + one_batch)


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}


async def _writes(
    clients: list[httpx.AsyncClient],
    gov: RateGovernor,
    location: str,
    token: str,
    contact: str,
    *,
    requests: int,
    workers: int,
) -> Trace:
    """`requests` governed writes to one location by `workers` coroutines."""
    trace, todo = Trace(), iter(range(requests))
    headers = _headers(token)

    async def worker(k: int) -> None:
        http = clients[k % len(clients)]
        for n in todo:
            while True:
                await gov.wait_turn_async(location, Priority.WEBHOOK)
                turn = time.monotonic()
                request = http.build_request(
                    "PUT", f"/contacts/{contact}", json={"firstName": f"Bench {n}"}, headers=headers
                )
                answer = await http.send(request)
                gov.observe(location, answer.headers, status=answer.status_code)
                trace.calls.append((turn, time.monotonic()))
                trace.statuses[answer.status_code] += 1
                if answer.status_code != 429:
                    break

    await asyncio.gather(*(worker(k) for k in range(workers)))
    return trace


def _governor(client: redis.Redis, url: str, **config: Any) -> RateGovernor:
    return RateGovernor(
        client,
        app_id=f"bench-{uuid.uuid4().hex[:12]}",
        async_client_factory=lambda: redis.asyncio.Redis.from_pool(
            redis.asyncio.BlockingConnectionPool.from_url(url, max_connections=64)
        ),
        **config,
    )


@asynccontextmanager
async def _clients(base_url: str, connections: int) -> AsyncIterator[list[httpx.AsyncClient]]:
    """httpx.AsyncClients with PER_CLIENT connections each: httpcore scans its whole pool for
    every request, which costs more CPU than the request itself once a pool holds ~100."""
    limits = httpx.Limits(max_connections=PER_CLIENT, max_keepalive_connections=PER_CLIENT)
    clients = [
        httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30, trust_env=False)
        for _ in range(math.ceil(connections / PER_CLIENT))
    ]
    # Open the connections first (on an endpoint no rate limit counts), as a running client has.
    await asyncio.gather(
        *(client.get("/_sandbox/health") for client in clients for _ in range(PER_CLIENT))
    )
    try:
        yield clients
    finally:
        for client in clients:
            await client.aclose()


def _run(main: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def _contact(ghl: StandIn, location: str) -> str:
    # Created through the control API, so no request counts against the location's window.
    made = ghl.trigger_event("ContactCreate", location, {"firstName": "Bench", "lastName": "Gov"})
    return str(made["result"]["id"])


def _check(trace: Trace, requests: int, figure: str) -> None:
    ok = sum(v for k, v in trace.statuses.items() if k < 400)
    if ok != requests or set(trace.statuses) - {200, 429}:
        raise RuntimeError(f"{figure}: unexpected answers {dict(trace.statuses)}")


def _p1(ghl: StandIn, client: redis.Redis, url: str, window_ms: int) -> list[Figure]:
    gov = _governor(client, url, limit=P1_LIMIT, window_ms=window_ms, safety_ms=SAFETY_MS)
    token = ghl.mint_token(location_id=P1_LOCATION)["access_token"]
    contact = _contact(ghl, P1_LOCATION)

    async def main() -> Trace:
        async with _clients(ghl.base_url, P1_LIMIT) as clients:
            trace = await _writes(
                clients, gov, P1_LOCATION, token, contact, requests=P1_REQUESTS, workers=P1_LIMIT
            )
        await gov.aclose()
        return trace

    trace = _run(main())
    _check(trace, P1_REQUESTS, "P1")
    limited = ghl.counters(P1_LOCATION)["rate_limited"]
    _forget(client, gov)
    ratio = trace.ratio(P1_LIMIT, window_ms)
    return [
        Figure(
            "P1",
            f"governed writes, 1 location, {P1_REQUESTS} at {P1_LIMIT}/window",
            ratio,
            "x of minimum",
            goal="<= 1.05",
            notes=f"{trace.elapsed:.2f} s",
        ),
        Figure("P1-429", "governed writes, 1 location, 429 answers", limited, "429s", "<= 0"),
    ]


def _p2(ghl: StandIn, client: redis.Redis, url: str, window_ms: int) -> list[Figure]:
    ghl.set_config(rate_limits={"burst_max": P2_LIMIT})
    gov = _governor(
        client,
        url,
        limit=P2_LIMIT,
        window_ms=window_ms,
        safety_ms=SAFETY_MS,
        interactive_reserve=0,
    )
    jobs = []
    for n in range(P2_LOCATIONS):
        location = f"BenchGovLoc{n:09d}"
        ghl.trigger_event("LocationCreate", location, {"companyId": COMPANY, "id": location})
        token = ghl.mint_token(location_id=location)["access_token"]
        jobs.append((location, token, _contact(ghl, location)))

    per = math.ceil(P2_LIMIT / PER_CLIENT)

    async def main() -> list[Trace]:
        async with _clients(ghl.base_url, P2_LOCATIONS * P2_LIMIT) as clients:
            traces = await asyncio.gather(
                *(
                    _writes(
                        clients[n * per : (n + 1) * per],
                        gov,
                        loc,
                        tok,
                        con,
                        requests=P2_REQUESTS,
                        workers=P2_LIMIT,
                    )
                    for n, (loc, tok, con) in enumerate(jobs)
                )
            )
        await gov.aclose()
        return list(traces)

    traces = _run(main())
    for trace in traces:
        _check(trace, P2_REQUESTS, "P2")
    limited = sum(ghl.counters(loc)["rate_limited"] for loc, _, _ in jobs)
    for location, _, _ in jobs:
        gov.forget(location)
    ratios = [trace.ratio(P2_LIMIT, window_ms) for trace in traces]
    return [
        Figure(
            "P2",
            f"governed writes, {P2_LOCATIONS} locations at once, worst location",
            max(ratios),
            "x of minimum",
            goal="<= 1.10",
            notes=f"mean {sum(ratios) / len(ratios):.3f}",
        ),
        Figure("P2-429", f"{P2_LOCATIONS} locations at once, 429 answers", limited, "429s", "<= 0"),
    ]


def _p3(ghl: StandIn, client: redis.Redis, url: str) -> list[Figure]:
    ghl.set_config(rate_limits={"unlimited": True, "burst_max": 1_000_000})
    ghl.set_faults(P3_LOCATION, latency={"kind": "fixed", "ms": P3_LATENCY_MS})
    gov = _governor(client, url, limit=1_000_000, window_ms=10_000, safety_ms=SAFETY_MS)
    token = ghl.mint_token(location_id=P3_LOCATION)["access_token"]
    path, headers = f"/contacts/{_contact(ghl, P3_LOCATION)}", _headers(token)

    async def main(governed: bool) -> float:
        counted = [0]
        async with _clients(ghl.base_url, P3_CONCURRENCY) as clients:
            start = time.monotonic()
            begin, end = start + P3_WARMUP, start + P3_WARMUP + P3_SECONDS

            async def worker(k: int) -> None:
                http = clients[k % len(clients)]
                request = http.build_request("GET", path, headers=headers)
                while time.monotonic() < end:
                    if governed:
                        await gov.wait_turn_async(P3_LOCATION, Priority.INTERACTIVE)
                    answer = await http.send(request)
                    if governed:
                        gov.observe(P3_LOCATION, answer.headers, status=answer.status_code)
                    if answer.status_code != 200:
                        raise RuntimeError(f"P3: unexpected answer {answer.status_code}")
                    if begin <= time.monotonic() < end:
                        counted[0] += 1

            await asyncio.gather(*(worker(k) for k in range(P3_CONCURRENCY)))
        await gov.aclose()
        return counted[0] / P3_SECONDS

    bare = _run(main(governed=False))
    governed = _run(main(governed=True))
    ghl.clear_faults()
    _forget(client, gov)
    ideal = P3_CONCURRENCY / (P3_LATENCY_MS / 1000)
    name = f"{P3_CONCURRENCY} in flight x {P3_LATENCY_MS} ms latency"
    return [
        Figure(
            "P3",
            f"governed GETs, {name}",
            governed,
            "req/s",
            goal="ratio >= 0.8",
            baseline=ideal,
            baseline_name="C/latency",
            notes=f"same loop without the governor: {bare:.0f} req/s",
        ),
        Figure("P3-bare", f"ungoverned GETs, {name} (context)", bare, "req/s"),
    ]


def _time_factor(ghl: StandIn, factor: float) -> int:
    """Compress stand-in time; returns the burst window in real ms, as the stand-in reports it."""
    ghl.set_config(time_factor=factor)
    token = ghl.mint_token(location_id=PROBE_LOCATION)["access_token"]
    answer = httpx.get(
        f"{ghl.base_url}/locations/{PROBE_LOCATION}",
        headers=_headers(token),
        timeout=10,
        trust_env=False,
    )
    window_ms = int(answer.headers["x-ratelimit-interval-milliseconds"])
    if window_ms != round(10_000 / factor):
        raise RuntimeError(f"stand-in reports a {window_ms} ms window at time factor {factor}")
    return window_ms


def _forget(client: redis.Redis, gov: RateGovernor) -> None:
    keys = list(client.scan_iter(match=f"{gov.prefix}:{gov.app_id}:*"))
    if keys:
        client.delete(*keys)


def run(ctx: BenchContext) -> list[Figure]:
    url = _redis_url()
    client = redis.Redis.from_url(url)
    # Webhooks are not what is measured here: Ed25519 only (RSA signing is slow) and no URL.
    config = {"webhooks": {"signatures": "ed25519"}}
    figures: list[Figure] = []
    with StandIn(
        scenario="demo",
        port=ctx.free_port(),
        keys_dir=ctx.tmp / "ghl-governor-keys",
        config=config,
        python=ctx.python,
    ) as ghl:
        ghl.set_webhook_url(None)
        window_ms = _time_factor(ghl, FACTOR)
        figures += _p1(ghl, client, url, window_ms)
        figures += _p2(ghl, client, url, window_ms)
        figures += _p3(ghl, client, url)
    client.close()
    return figures
