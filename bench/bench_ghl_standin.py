"""Method: the GHL stand-in (`python -m sandbox.ghl`, its own process, uvicorn + uvloop +
httptools) started through `sandbox.ghl.testing.StandIn` with the demo scenario and rate limits
off (unlimited mode). bench.loadgen drives it on loopback after a 2 s warm-up:
S1 = authenticated `GET /contacts/{id}` (Location token, `Version` header, spec-shaped JSON) with
32 keep-alive connections for 8 s and no injected latency; S2 = the same request with a fixed
200 ms latency fault and 200 connections for 8 s (ideal: 200 / 0.2 s = 1,000 req/s);
S3 = `POST /contacts/search` (tag filter, 20 per page) over a location seeded with 100,000
contacts, one connection, median latency; S4 = wall time of seeding those 100,000 contacts
through `POST /_sandbox/seed`."""

from __future__ import annotations

import json

from bench.harness import BenchContext, Figure
from bench.loadgen import load
from sandbox.ghl.testing import StandIn

ORDER = 60
LOCATION = "DemoLocApexDubai0001"
BIG_LOCATION = "DemoLocApexClinic001"
WARMUP = 2.0
DURATION = 8.0


def _headers(token: str, version: str = "2021-07-28") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Version": version, "Accept": "application/json"}


def run(ctx: BenchContext) -> list[Figure]:
    figures: list[Figure] = []
    with StandIn(
        scenario="demo",
        port=ctx.free_port(),
        keys_dir=ctx.tmp / "ghl-keys",
        unlimited=True,
        python=ctx.python,
    ) as ghl:
        token = ghl.mint_token(location_id=LOCATION)["access_token"]
        contact = ghl.http.get(
            "/contacts/", params={"locationId": LOCATION, "limit": 1}, headers=_headers(token)
        ).json()["contacts"][0]["id"]
        url = f"{ghl.base_url}/contacts/{contact}"

        load(url, connections=32, duration=WARMUP, headers=_headers(token))
        simple = load(url, connections=32, duration=DURATION, headers=_headers(token))
        _check(simple.statuses, simple.requests, "S1")
        figures += [
            Figure("S1", "GHL stand-in simple GETs", simple.rps, "req/s", goal=">= 1500"),
            Figure("S1-p99", "GHL stand-in simple GETs, p99 latency", simple.p99_ms, "ms"),
        ]

        ghl.set_faults(LOCATION, latency={"kind": "fixed", "ms": 200})
        load(url, connections=200, duration=WARMUP, headers=_headers(token))
        slow = load(url, connections=200, duration=DURATION, headers=_headers(token))
        _check(slow.statuses, slow.requests, "S2")
        figures += [
            Figure(
                "S2", "GHL stand-in, 200 conns x 200 ms latency", slow.rps, "req/s", goal=">= 900"
            ),
            Figure("S2-p99", "GHL stand-in, 200 ms latency, p99", slow.p99_ms, "ms", goal="<= 400"),
        ]
        ghl.clear_faults()

        seeded = ghl.seed(BIG_LOCATION, seed=11, contacts=100_000)
        figures.append(
            Figure("S4", "GHL stand-in, seed 100k contacts", seeded["seconds"], "s", goal="<= 5")
        )
        big_token = ghl.mint_token(location_id=BIG_LOCATION)["access_token"]
        body = json.dumps(
            {
                "locationId": BIG_LOCATION,
                "pageLimit": 20,
                "filters": [{"field": "tags", "operator": "eq", "value": "new patient"}],
            }
        ).encode()
        headers = _headers(big_token) | {"Content-Type": "application/json"}
        search = load(
            f"{ghl.base_url}/contacts/search",
            connections=1,
            duration=4.0,
            headers=headers,
            method="POST",
            body=body,
        )
        _check(search.statuses, search.requests, "S3")
        figures.append(
            Figure(
                "S3",
                "GHL stand-in, search 100k contacts, median",
                search.p50_ms,
                "ms",
                goal="<= 100",
            )
        )
    return figures


def _check(statuses: dict[int, int], requests: int, figure: str) -> None:
    if statuses.get(200, 0) != requests:
        raise RuntimeError(f"{figure}: non-200 answers {statuses}")
