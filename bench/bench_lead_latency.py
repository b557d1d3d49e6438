"""Method: webhook-to-assignment latency — from the moment a ContactCreate webhook is written to our
endpoint to the moment the lead's agent has been written to GHL (`assignedTo` through the API, the
decision stamped `ghl_written_at`).

The platform runs as in production: gunicorn as in P7 (4 workers x 2 threads), one Celery worker
(prefork, 4 processes, every queue), a scratch database (migrated, dropped after) and a scratch
Redis database as broker and cache. The GHL stand-in runs at real speed with GHL's real rate limit
(100 requests per 10 s per location); so that the limit is not what is measured, the leads are
spread over LOCATIONS sub-accounts. Each location is installed through our OAuth callback and
backfilled by the worker before the clock starts, and gets a round-robin rule over its users. The
events are signed ContactCreate webhooks (an Ed25519 key the endpoint is given) for the locations'
backfilled, not yet routed contacts, each with its own webhookId, paced by bench.loadgen.

L1: SATURATE_S seconds of leads at half the webhook capacity P7-rps measured earlier in this run
(measured first when this bench runs alone); the 99th percentile over every lead, a lead not
written within WAIT_S counting as never. L1-cap: the leads that phase got written per second,
from its first send to its last write — the pipeline's own capacity when it cannot keep up.
L1-steady: then STEADY_S seconds of new leads at half of L1-cap, p99 as L1. BENCH_L1_P7=<req/s>
fixes P7 instead of measuring it (to compare runs at one offered rate).
L1-floor: then, on a stand-in without rate limits, FLOOR_WRITES assignments (`PUT /contacts/:id`)
written by a bare httpx client with nothing of ours around it; the CPU per write of the client
(`time.process_time`) and of the stand-in (its /proc ticks), times P7 / 2 leads per second: the
cores that the GHL write alone takes at L1's rate on this machine, where GHL's stand-in shares
the cores with the platform. When it nears the machine's cores, L1 cannot pass here whatever
the platform does."""

from __future__ import annotations

import base64
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench import bench_webhook_ingest as ingest
from bench.harness import ROOT, BenchContext, Figure
from bench.loadgen import load
from bench.servers import gunicorn, production_env

ORDER = 25
LOCATIONS = 100
AGENTS = 4
CONNECTIONS = 32
WAIT_S = 180.0
COMPANY = "DemoCompanyApex00001"
QUEUES = "interactive,webhooks,sync,default,maintenance"
DEMO_APP_ID = "66d0a1b2c3d4e5f601234567"  # the stand-in's demo app (its client id's prefix)
SATURATE_S = 5.0  # seconds of leads at P7 / 2
STEADY_S = 10.0  # seconds of leads at half the measured capacity
SPARE = 40  # contacts per location kept for the steady phase
FLOOR_WRITES = 1000  # assignments written by a bare client to measure L1-floor


def _p7(ctx: BenchContext) -> tuple[float, list[Figure]]:
    # BENCH_L1_P7=<req/s>: take P7 as given instead of measuring it — the same offered rate for
    # runs compared on a machine whose spare CPU changes from one run to the next.
    if given := os.environ.get("BENCH_L1_P7"):
        return float(given), []
    try:
        return ctx.baseline("P7-rps").value, []
    except LookupError:
        figures = ingest.run(ctx)
        return next(f.value for f in figures if f.id == "P7-rps"), figures


@contextmanager
def _worker(ctx: BenchContext, env: dict[str, str]) -> Iterator[None]:
    log = Path(ctx.tmp) / "celery-worker.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [ctx.python, "-m", "celery", "-A", "saas_platform", "worker", "-Q", QUEUES,
             "--concurrency", "4", "-l", "warning", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            yield
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _child(standin_url: str, location_ids: list[str]) -> dict[str, list[str]]:
    """Install and backfill the locations (the worker runs alongside), give each a round-robin
    rule over its users; returns {GHL location id: its mirrored contact ids}."""
    import django

    django.setup()
    from integrations.ghl import install
    from integrations.mirror.models import MirrorContact, MirrorUser
    from integrations.routing.services import agent_profile_save, rule_save
    from integrations.sync.models import SyncRun
    from sandbox.ghl.testing import StandInControl
    from tenants.models import Location

    control = StandInControl(standin_url)
    for location_id in location_ids:
        code = control.install(locationId=location_id, emitInstall=False)["code"]
        install.oauth_callback(code=code, state=None)
    deadline = time.monotonic() + 600
    while True:
        runs = SyncRun.objects.unscoped().filter(kind="backfill")
        if failed := runs.filter(status="failed").first():
            raise RuntimeError(f"a backfill failed: {failed.error}")
        if runs.filter(status="succeeded").count() == len(location_ids):
            break
        if time.monotonic() > deadline:
            raise TimeoutError("the backfills did not finish within 600 s")
        time.sleep(0.5)
    contacts: dict[str, list[str]] = {}
    for location in Location.objects.unscoped().filter(ghl_location_id__in=location_ids):
        agents = list(MirrorUser.objects.for_location(location).values_list("ghl_id", flat=True))
        for agent in agents:
            agent_profile_save(location=location, ghl_user_id=agent)
        rule_save(location=location, name="Everyone, in turn", pool={"agents": agents})
        contacts[str(location.ghl_location_id)] = list(
            MirrorContact.objects.for_location(location).values_list("ghl_id", flat=True)
        )
    return contacts


def _events(
    key: Ed25519PrivateKey, app_id: str, contacts: dict[str, list[str]]
) -> tuple[list[tuple[bytes, dict[str, str]]], list[str]]:
    """One signed ContactCreate per contact, the locations interleaved (as leads arrive)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    order = [
        (location_id, ids[i])
        for i in range(max(map(len, contacts.values())))
        for location_id, ids in contacts.items()
        if i < len(ids)
    ]
    payloads = []
    for location_id, contact_id in order:
        body = json.dumps(
            {
                "type": "ContactCreate",
                "appId": app_id,
                "webhookId": str(uuid.uuid4()),
                "timestamp": now,
                "locationId": location_id,
                "id": contact_id,
                "firstName": "Lead",
                "email": f"{contact_id.lower()}@example.com",
                "dateAdded": now,
            },
            separators=(",", ":"),
        ).encode()
        signature = base64.b64encode(key.sign(body)).decode()
        payloads.append((body, {"Content-Type": "application/json", "X-GHL-Signature": signature}))
    return payloads, [contact_id for _, contact_id in order]


def _written(database_url: str) -> dict[str, tuple[datetime | None, str]]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT contact_ghl_id, ghl_written_at, ghl_error FROM integrations_routingdecision"
            " WHERE is_current"
        ).fetchall()
    return {row[0]: (row[1], row[2]) for row in rows}


@dataclass
class Phase:
    rate: float
    leads: int
    latencies_ms: list[float]  # sorted; inf for a lead not written
    not_written: int
    refused: int
    capacity: float  # leads written per second, first send to last write

    @property
    def p99(self) -> float:
        return self.latencies_ms[min(len(self.latencies_ms) - 1, int(0.99 * self.leads))]

    def describe(self) -> str:
        finite = [v for v in self.latencies_ms if math.isfinite(v)]
        p50 = statistics.median(finite) if finite else math.nan
        return (
            f"{self.leads} leads sent at {self.rate:,.0f}/s over {LOCATIONS} locations; "
            f"p50 {p50:,.0f} ms, max {max(finite, default=math.nan):,.0f} ms; "
            f"{self.not_written} not written within {WAIT_S:.0f} s, {self.refused} refused by GHL"
        )


def _phase(
    port: int,
    database_url: str,
    key: Ed25519PrivateKey,
    contacts: dict[str, list[str]],
    rate: float,
) -> Phase:
    """Send one ContactCreate per contact at `rate`, wait for every assignment to be written."""
    payloads, contact_ids = _events(key, DEMO_APP_ID, contacts)
    result = load(
        f"http://127.0.0.1:{port}{ingest.URL_PATH}",
        connections=CONNECTIONS,
        duration=(len(payloads) - 2 * CONNECTIONS) / rate,
        method="POST",
        headers={"Host": "localhost"},
        payloads=payloads,
        rate=rate,
    )
    if result.errors or set(result.statuses) != {200}:
        raise RuntimeError(f"the webhook endpoint did not accept every event: {result}")
    sent = dict(zip(contact_ids, result.sent_at, strict=False))
    deadline = time.monotonic() + WAIT_S
    while True:
        done = _written(database_url)
        if all(any(done.get(c, (None, ""))) for c in sent) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    latencies, not_written, refused, last = [], 0, 0, 0.0
    for contact_id, sent_at in sent.items():
        written_at, error = done.get(contact_id, (None, ""))
        if written_at is None:
            not_written += not error
            refused += bool(error)
            latencies.append(math.inf)
        else:
            last = max(last, written_at.timestamp())
            latencies.append((written_at.timestamp() - sent_at) * 1000)
    written = sum(math.isfinite(v) for v in latencies)
    span = last - min(sent.values())
    return Phase(
        rate=rate,
        leads=len(sent),
        latencies_ms=sorted(latencies),
        not_written=not_written,
        refused=refused,
        capacity=written / span if span > 0 else 0.0,
    )


def _split(contacts: dict[str, list[str]], first: int) -> tuple[dict[str, list[str]], ...]:
    return (
        {loc: ids[:first] for loc, ids in contacts.items()},
        {loc: ids[first:] for loc, ids in contacts.items()},
    )


def _process_cpu(pid: int) -> float:
    """Seconds of CPU (user + system) the process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _ghl_write_cpu() -> tuple[float, float]:
    """CPU seconds per assignment written to GHL by a bare client: (the client's httpx, the
    stand-in's) — what a lead costs this machine before any code of ours runs."""
    import httpx

    from sandbox.ghl.testing import StandIn

    location = "DemoLocApexDubai0001"
    with StandIn(scenario="demo", unlimited=True) as ghl:
        assert ghl.process is not None
        token = ghl.mint_token(location_id=location)["access_token"]
        with httpx.Client(
            base_url=ghl.base_url, headers=ghl.api_headers(token), timeout=30, trust_env=False
        ) as client:
            contact = client.get("/contacts/", params={"locationId": location, "limit": 1})
            users = client.get("/users/", params={"locationId": location}).json()["users"]
            path = f"/contacts/{contact.json()['contacts'][0]['id']}"
            assign = [{"assignedTo": users[n % len(users)]["id"]} for n in range(FLOOR_WRITES)]
            for body in assign[: FLOOR_WRITES // 5]:  # warm-up
                client.put(path, json=body).raise_for_status()
            theirs, ours = _process_cpu(ghl.process.pid), time.process_time()
            for body in assign:
                client.put(path, json=body).raise_for_status()
            ours, theirs = time.process_time() - ours, _process_cpu(ghl.process.pid) - theirs
    return ours / FLOOR_WRITES, theirs / FLOOR_WRITES


def run(ctx: BenchContext) -> list[Figure]:
    from sandbox.ghl.testing import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, StandIn

    p7, extra = _p7(ctx)
    key = Ed25519PrivateKey.generate()
    first = math.ceil(p7 / 2 * SATURATE_S / LOCATIONS)
    with (
        StandIn(scenario="demo") as ghl,
        ingest.scratch_database() as database_url,
        ingest.scratch_redis_db() as broker_url,
    ):
        ghl.set_webhook_url(None)  # our events are the bench's own
        location_ids = []
        for n in range(LOCATIONS):
            made = ghl.create_location(COMPANY, name=f"Bench Realty {n}", timezone="Asia/Dubai")
            ghl.seed(made["id"], seed=n, contacts=first + SPARE, users=AGENTS)
            location_ids.append(made["id"])
        env = production_env(
            DATABASE_URL=database_url,
            CELERY_BROKER_URL=broker_url,
            REDIS_URL=broker_url,
            GHL_API_BASE=ghl.base_url,
            GHL_MARKETPLACE_BASE=ghl.base_url,
            GHL_CLIENT_ID=DEMO_CLIENT_ID,
            GHL_CLIENT_SECRET=DEMO_CLIENT_SECRET,
            GHL_WEBHOOK_ED25519_KEYS=ingest._public_pem(key),
        )
        migrated = subprocess.run(
            [ctx.python, "manage.py", "migrate", "--noinput"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        if migrated.returncode:
            raise RuntimeError(f"migrate failed: {migrated.stderr[-2000:]}")
        with _worker(ctx, env):
            prepared = subprocess.run(
                [ctx.python, "-m", "bench.bench_lead_latency", "--child", ghl.base_url,
                 *location_ids],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
            )  # fmt: skip
            if prepared.returncode:
                raise RuntimeError(f"preparing the locations failed: {prepared.stderr[-3000:]}")
            saturating, rest = _split(json.loads(prepared.stdout.strip().splitlines()[-1]), first)
            with gunicorn(ctx, env=env) as port:
                ingest._wait_ready(port)
                at_half_p7 = _phase(port, database_url, key, saturating, p7 / 2)
                sustainable = at_half_p7.capacity / 2
                steady = _split(rest, math.ceil(sustainable * STEADY_S / LOCATIONS))[0]
                at_half_capacity = _phase(port, database_url, key, steady, sustainable)
    client_cpu, standin_cpu = _ghl_write_cpu()
    cores = os.cpu_count() or 1
    return [
        *extra,
        Figure("L1", "webhook → agent written to GHL, p99, at P7 / 2", at_half_p7.p99, "ms",
               goal="<= 2000", notes=at_half_p7.describe()),
        Figure("L1-cap", "leads routed and written to GHL per second (saturated)",
               at_half_p7.capacity, "leads/s",
               notes="the pipeline's own capacity: webhook, inbox, mirror, routing, GHL write"),
        Figure("L1-steady", "webhook → agent written to GHL, p99, at L1-cap / 2",
               at_half_capacity.p99, "ms", goal="<= 2000", notes=at_half_capacity.describe()),
        Figure("L1-floor", "cores the GHL writes alone take at P7 / 2 (bare client + stand-in)",
               p7 / 2 * (client_cpu + standin_cpu), "cores",
               notes=f"of {cores} on this machine, before the webhooks are taken in; per write "
               f"{client_cpu * 1000:.2f} ms client + {standin_cpu * 1000:.2f} ms stand-in CPU"),
    ]  # fmt: skip


if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    print(json.dumps(_child(sys.argv[2], sys.argv[3:])))
