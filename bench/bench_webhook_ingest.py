"""Method: the GHL webhook endpoint (`POST /integrations/ghl/webhooks` on the platform host) under
gunicorn with production settings — 4 workers x 2 threads (gthread), keep-alive, as B0 — on a
scratch database made and migrated for the run (dropped after) and a scratch Redis database as the
Celery broker and cache (flushed after; no worker runs, so the drains asked for stay queued, as
they would while workers lag). The bench makes its own Ed25519 key pair, gives the endpoint the
public key (`GHL_WEBHOOK_ED25519_KEYS`, inline PEM) and signs, before the clock starts, one
distinct compact-JSON event per request (~400 bytes, a ContactCreate-shaped payload with its own
`webhookId`), so every request is a new event: signature check, JSON parse, `INSERT … ON CONFLICT`
and commit, then the process's dispatch thread woken (it asks for a drain through Redis).
bench.loadgen drives it on loopback with 8 keep-alive connections after a 2 s warm-up (warm-up
events are separate ones), in rounds that alternate with the bare view (`/healthz`) on the same
server: ROUNDS pairs of 2 s rounds, so the machine's noise falls on both alike. P7 = the median over
the pairs of (webhook requests/s ÷ the bare view's requests/s in the round just before): each
ratio compares two rounds a couple of seconds apart, and the median keeps a pair disturbed by
another process on the machine from moving the figure. B0-same = the bare view's requests/s over
all its rounds, the webhook's over all its rounds in the notes; P7-p99 = the 99th-percentile
latency of the webhook rounds. B0 of the run is in the notes. The run is refused unless every
answer is a 200, no event was sent twice, and the scratch inbox holds exactly one row per answer
(so every 200 was a stored event, none a duplicate)."""

from __future__ import annotations

import base64
import json
import os
import statistics
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import psycopg
import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench import bench_baseline
from bench.harness import ROOT, BenchContext, Figure
from bench.loadgen import LoadResult, load
from bench.servers import gunicorn, production_env

ORDER = 20
CONNECTIONS = 8
WARMUP = 2.0
ROUND = 2.0
ROUNDS = 8
URL_PATH = "/integrations/ghl/webhooks"
APP_ID = "b3nch0000000000000000001"
CLIENT_ID = f"{APP_ID}-bench"

Payloads = list[tuple[bytes, dict[str, str]]]


def _engines_env(name: str) -> str:
    """The run's engine URL (from the environment, else from `tools/engines.py`'s file)."""
    if os.environ.get(name):
        return os.environ[name]
    env_file = ROOT / ".run" / "engines.env"
    for line in env_file.read_text().splitlines() if env_file.exists() else ():
        key, _, value = line.removeprefix("export ").partition("=")
        if key == name:
            return value.strip().strip("'\"")
    raise RuntimeError(f"{name} is not set (run `eval $(python tools/engines.py up)`)")


def _with_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))


@contextmanager
def scratch_database() -> Iterator[str]:
    """A new database on the run's PostgreSQL server; yields its URL, drops it after."""
    server = _engines_env("DATABASE_URL")
    name = f"bench_webhooks_{os.getpid()}"
    with psycopg.connect(_with_path(server, "/postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_path(server, "/" + quote(name))
    finally:
        with psycopg.connect(_with_path(server, "/postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


SCRATCH_CLAIM = "bench:scratch-claim"


@contextmanager
def scratch_redis_db() -> Iterator[str]:
    """An empty database (index) of the run's Redis as the broker; flushed after. The index is
    claimed with a key set only if absent, so two benches running at once never share one (both
    could find it empty before either wrote to it)."""
    server = _engines_env("REDIS_URL")
    for index in range(15, 0, -1):
        url = _with_path(server, f"/{index}")
        client = redis.Redis.from_url(url)
        if client.dbsize() == 0 and client.set(SCRATCH_CLAIM, uuid.uuid4().hex, nx=True):
            break
        client.close()
    else:
        raise RuntimeError("no empty Redis database for the broker")
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


def _signed_events(key: Ed25519PrivateKey, count: int) -> Payloads:
    payloads = []
    for seq in range(count):
        body = json.dumps(
            {
                "type": "ContactCreate",
                "appId": APP_ID,
                "webhookId": str(uuid.uuid4()),
                "timestamp": "2026-11-28T10:00:00.000Z",
                "locationId": f"BenchLocation{seq % 50:07d}",
                "id": f"BenchContact{seq:08d}",
                "firstName": "Ada",
                "lastName": "Lovelace",
                "email": f"ada{seq}@example.com",
                "phone": "+15555550100",
                "tags": ["bench", "webhook"],
                "dateAdded": "2026-11-28T09:59:58.000Z",
                "customFields": [{"id": "cf1", "value": seq}],
            },
            separators=(",", ":"),
        ).encode()
        signature = base64.b64encode(key.sign(body)).decode()
        payloads.append((body, {"Content-Type": "application/json", "X-GHL-Signature": signature}))
    return payloads


def _public_pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _baseline(ctx: BenchContext) -> tuple[Figure, list[Figure]]:
    """B0 from this run; measured here when this bench runs on its own."""
    try:
        return ctx.baseline("B0"), []
    except LookupError:
        figures = bench_baseline.run(ctx)
        return next(f for f in figures if f.id == "B0"), figures


def _check(result: LoadResult, payloads: Payloads, what: str) -> None:
    if result.errors or result.statuses != {200: result.requests}:
        raise RuntimeError(f"{what}: errors or non-200 answers: {result}")
    if result.sent > len(payloads):
        raise RuntimeError(f"{what}: {result.sent} requests but only {len(payloads)} events")


def _wait_ready(port: int, timeout: float = 120.0) -> None:
    """The port is open as soon as gunicorn's master binds it; the workers load Django after
    that (seconds on a busy machine), which must not eat the warm-up."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}/healthz", headers={"Host": "localhost"})
            if answer.status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"gunicorn did not answer /healthz within {timeout} s")
        time.sleep(0.1)


def _inbox_rows(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM integrations_inboundevent").fetchone()
    return int(row[0]) if row else 0


def run(ctx: BenchContext) -> list[Figure]:
    b0, extra = _baseline(ctx)
    key = Ed25519PrivateKey.generate()
    # The endpoint does more than the bare view: twice B0's pace is more events than it can take
    # (and `_check` refuses a run that wrapped around the list).
    ceiling = 2 * b0.value + 500
    warm = _signed_events(key, int(ceiling * WARMUP))
    rounds = [_signed_events(key, int(ceiling * ROUND)) for _ in range(ROUNDS)]
    with scratch_database() as database_url, scratch_redis_db() as broker_url:
        env = production_env(
            DATABASE_URL=database_url,
            CELERY_BROKER_URL=broker_url,
            REDIS_URL=broker_url,
            GHL_CLIENT_ID=CLIENT_ID,
            GHL_CLIENT_SECRET="bench-only-client-secret",  # noqa: S106 — not a secret
            GHL_WEBHOOK_ED25519_KEYS=_public_pem(key),
        )
        migrated = subprocess.run(
            [ctx.python, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if migrated.returncode:
            raise RuntimeError(f"migrate failed: {migrated.stderr[-2000:]}")
        with gunicorn(ctx, env=env) as port:
            _wait_ready(port)
            url = f"http://127.0.0.1:{port}{URL_PATH}"
            options = {
                "connections": CONNECTIONS,
                "method": "POST",
                "headers": {"Host": "localhost"},
            }
            bare_url = f"http://127.0.0.1:{port}/healthz"
            warmed = load(url, duration=WARMUP, payloads=warm, **options)
            load(bare_url, duration=WARMUP, connections=CONNECTIONS, headers={"Host": "localhost"})
            hooks, bare = [], []
            for events in rounds:
                bare.append(
                    load(
                        bare_url,
                        duration=ROUND,
                        connections=CONNECTIONS,
                        headers={"Host": "localhost"},
                    )
                )
                hooks.append(load(url, duration=ROUND, payloads=events, **options))
        _check(warmed, warm, "warm-up")
        for result, events in zip(hooks, rounds, strict=True):
            _check(result, events, "P7")
        stored = warmed.requests + sum(r.requests for r in hooks)
        rows = _inbox_rows(database_url)
        if rows != stored:
            raise RuntimeError(f"{rows} inbox rows for {stored} 200s")
        queued = redis.Redis.from_url(broker_url).llen("webhooks")
    hook_rps = sum(r.requests for r in hooks) / (ROUND * ROUNDS)
    bare_rps = sum(r.requests for r in bare) / (ROUND * ROUNDS)
    pairs = sorted(h.requests / b.requests for h, b in zip(hooks, bare, strict=True))
    p99 = sorted(ms for r in hooks for ms in r.latencies_ms)
    notes = (
        f"{hook_rps:,.0f} webhook req/s over all rounds ({hook_rps / bare_rps:.2f}x of B0-same); "
        f"pair ratios {pairs[0]:.2f} to {pairs[-1]:.2f}; {stored} distinct events, {rows} rows, "
        f"{queued} messages queued; B0 of this run {b0.value:,.0f} req/s"
    )
    return [
        *extra,
        Figure("B0-same", "bare view, rounds interleaved with P7", bare_rps, "req/s"),
        Figure(
            "P7",
            "webhook ingestion req/s ÷ bare view, median of round pairs",
            statistics.median(pairs),
            "x",
            goal=">= 0.4",
            notes=notes,
        ),
        Figure("P7-rps", "webhook ingestion req/s", hook_rps, "req/s"),
        Figure(
            "P7-p99",
            "webhook ingestion p99 latency",
            p99[min(len(p99) - 1, int(0.99 * len(p99)))],
            "ms",
            goal="<= 50",
        ),
    ]
