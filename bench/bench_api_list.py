"""Method: P9, the REST API's contact list. A scratch database (made, migrated and dropped for the
run) holds one agency whose location has 100,000 mirrored contacts (written set-based with
`INSERT … SELECT … FROM generate_series`, then ANALYZE) and an agency-wide API key with
`contacts:read` and a rate limit high enough never to refuse. The platform runs under gunicorn
with production settings — 4 workers x 2 threads (gthread), keep-alive, as B0 — on that database
and a scratch Redis database (the API's rate-limit window; flushed after). bench.loadgen drives
`GET /api/v1/locations/<id>/contacts/?page_size=50` (the first page, newest first: one indexed
cursor read, 50 rows serialized from the explicit allow-list) on the agency's domain with 8
keep-alive connections after a 2 s warm-up, in rounds that alternate with the bare view
(`/healthz`) on the same server: ROUNDS pairs of 2 s rounds. P9 = the median over the pairs of
(API requests/s ÷ the bare view's requests/s in the round just before; goal >= 0.25);
P9-p99 = the 99th-percentile latency over all API rounds (goal <= 100 ms). Every answer must be
a 200 holding 50 contacts. P9q: the SQL statements of one list request with 1, 50 and 200
items, counted in the seeding process through Django's test client (they must be equal: the
page size never adds queries)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from typing import Any

import httpx

from bench.bench_webhook_ingest import _baseline, _wait_ready, scratch_database, scratch_redis_db
from bench.harness import ROOT, BenchContext, Figure
from bench.loadgen import load
from bench.servers import gunicorn, production_env

ORDER = 25
CONTACTS = 100_000
CONNECTIONS = 8
WARMUP = 2.0
ROUND = 2.0
ROUNDS = 6
PAGE = 50


def _seed() -> dict[str, Any]:
    """In the child: the agency, its 100k-contact location, a key; then the query counts."""
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from integrations.mirror.models import MirrorContact
    from tenants import selectors, services
    from tenants.api.keys import api_key_create
    from tenants.models import Location

    agency = services.agency_create(acting_user=None, name="Bench API", slug="bench-api")
    location = Location.objects.create(agency=agency, name="Big", timezone="Asia/Dubai")
    table = connection.ops.quote_name(MirrorContact._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table} (location_id, ghl_id, synced_at, ghl_updated_at, first_name,
                last_name, email, phone, company_name, source, contact_type, assigned_to,
                address1, city, state, postal_code, country, timezone, dnd, tags,
                custom_fields, date_added)
                SELECT %(loc)s, 'BenchContact' || lpad(g::text, 8, '0'), now(), now(), 'Lead',
                       g::text, 'lead' || g || '@x.test', '+9715' || lpad(g::text, 8, '0'), '',
                       'Website', 'lead', '', '', 'Dubai', '', '', 'AE', 'Asia/Dubai', false,
                       ARRAY['lead'], '{{}}'::jsonb, now() - (g %% 365) * interval '1 day'
                FROM generate_series(1, %(n)s) g""",  # noqa: S608 — the table name is the model's
            {"loc": location.pk, "n": CONTACTS},
        )
        cursor.execute("ANALYZE")
    key = api_key_create(
        agency=agency,
        name="bench",
        scopes=["contacts:read"],
        rate_limit_per_minute=100_000,
        acting_user=None,
    )
    domain = selectors.agency_primary_domain(agency)
    client = Client(HTTP_HOST=domain, HTTP_AUTHORIZATION=f"Bearer {key.secret}", secure=True)
    url = f"/api/v1/locations/{location.pk}/contacts/"
    assert client.get(url).status_code == 200  # last_used_at is written on the first call
    queries = {}
    for size in (1, 50, 200):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, {"page_size": size})
        assert response.status_code == 200, response.content[:300]
        assert len(response.json()["data"]) == size
        queries[str(size)] = len(captured)
    return {"domain": domain, "path": url, "key": key.secret, "queries": queries}


def _round(url: str, headers: dict[str, str]) -> Any:
    result = load(url, connections=CONNECTIONS, duration=ROUND, headers=headers)
    if result.errors or result.statuses != {200: result.requests}:
        raise RuntimeError(f"{url}: errors or non-200 answers: {result.statuses}")
    return result


def run(ctx: BenchContext) -> list[Figure]:
    b0, extra = _baseline(ctx)
    with scratch_database() as database_url, scratch_redis_db() as redis_url:
        env = production_env(
            DATABASE_URL=database_url, REDIS_URL=redis_url, CELERY_BROKER_URL=redis_url
        )
        for command in (["manage.py", "migrate", "--noinput"], ["-m", "bench.bench_api_list"]):
            done = subprocess.run(
                [ctx.python, *command, *(["--seed"] if command[0] == "-m" else [])],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            if done.returncode != 0:
                raise RuntimeError(f"{command}: {done.stderr[-2000:]}")
        seeded = json.loads(done.stdout.strip().splitlines()[-1])
        with gunicorn(ctx, env=env) as port:
            _wait_ready(port)
            api_url = f"http://127.0.0.1:{port}{seeded['path']}?page_size={PAGE}"
            bare_url = f"http://127.0.0.1:{port}/healthz"
            api_headers = {
                "Host": seeded["domain"],
                "Authorization": f"Bearer {seeded['key']}",
                "X-Forwarded-Proto": "https",
            }
            bare_headers = {"Host": "localhost"}
            answer = httpx.get(api_url, headers=api_headers, timeout=30)
            if answer.status_code != 200 or len(answer.json()["data"]) != PAGE:
                raise RuntimeError(f"the list answered {answer.status_code}: {answer.text[:300]}")
            load(api_url, connections=CONNECTIONS, duration=WARMUP, headers=api_headers)
            load(bare_url, connections=CONNECTIONS, duration=WARMUP, headers=bare_headers)
            ratios, bare_rounds, api_rounds = [], [], []
            for _ in range(ROUNDS):
                bare = _round(bare_url, bare_headers)
                listed = _round(api_url, api_headers)
                bare_rounds.append(bare)
                api_rounds.append(listed)
                ratios.append(listed.rps / bare.rps)
    latencies = sorted(ms for r in api_rounds for ms in r.latencies_ms)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    bare_rps = statistics.mean(r.rps for r in bare_rounds)
    api_rps = statistics.mean(r.rps for r in api_rounds)
    counts = seeded["queries"]
    same = len(set(counts.values())) == 1
    return [
        *extra,
        Figure("B0-api", "bare view beside P9, requests/s", bare_rps, "req/s",
               notes=f"B0 of the run {b0.value:.0f} req/s"),
        Figure("P9", "API contact list (50 of 100k) ÷ bare view", statistics.median(ratios),
               "ratio", goal=">= 0.25",
               notes=f"median of {ROUNDS} paired rounds; list {api_rps:.0f} req/s"),
        Figure("P9-p99", "API contact list p99 at 8 connections", p99, "ms", goal="<= 100"),
        Figure("P9q", "queries per list request (1, 50, 200 items)", float(counts["50"]),
               "queries", goal="<= 4",
               notes=f"1: {counts['1']}, 50: {counts['50']}, 200: {counts['200']}"
               + ("" if same else " — NOT EQUAL")),
    ]  # fmt: skip


if __name__ == "__main__" and sys.argv[1:] == ["--seed"]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas_platform.settings.production")
    print(json.dumps(_seed()))
