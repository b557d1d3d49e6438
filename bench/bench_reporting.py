"""Method: one location holding 100,000 contacts (created over the last 365 days, 8 sources, 12
agents), 30,000 opportunities over a 6-stage pipeline (open, won, lost), 40,000 appointments,
250,000 message records (inbound and outbound) and 60,000 routing decisions, written set-based
with `INSERT … SELECT … FROM generate_series` from a fixed seed; two smaller sibling locations of
the same agency. R1 is `report_rollups_rebuild` of the big location (one transaction, after
ANALYZE), best of two; R1d the refresh of one local day (what the minute's refresh does after a
webhook), median of five. R2 is the location dashboard page
(`/admin/integrations/reportschedule/dashboard/?location=…`, last 30 days) fetched through
Django's test client as the agency's owner, 50 timed requests after 5 warm-up ones: the p95 of
the server time (from the request to the full response, rendering included); R2q counts the
SQL statements of one such request. R3 is the same for the agency's cross-location dashboard.
P8 is the client's own dashboard in the branded portal (`/app/l/<location>/dashboard/?range=30d`),
and P8c the portal's contact list (`/app/l/<location>/contacts/`, first page, newest first), each
timed the same way as R2 as the location's client admin.
Everything runs in a child process (Django with `saas_platform.settings.test`) against a scratch
database `bench_reporting` on the run's PostgreSQL (DATABASE_URL), created and migrated
with Django's test-database utilities and dropped afterwards."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bench.bench_mirror_write import _engines_env
from bench.harness import ROOT, BenchContext, Figure

ORDER = 80
CONTACTS = 100_000
REQUESTS = 50
WARMUP = 5
SCRATCH_DB = "bench_reporting"


def _fill(location_id: int, contacts: int, agents: int = 12) -> None:
    """Mirror rows and decisions for one location, generated in the database."""
    from django.db import connection

    from integrations.mirror.models import (
        MirrorAppointment,
        MirrorContact,
        MirrorMessage,
        MirrorOpportunity,
        MirrorPipeline,
        MirrorUser,
    )
    from integrations.routing.models import RoutingDecision

    def t(model: Any) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    stages = json.dumps([{"id": f"stage{i}", "name": f"Stage {i}"} for i in range(6)])
    agent = f"'agent' || (1 + (g * 7) %% {agents})"
    added = "now() - (g %% 365) * interval '1 day' - (g %% 86400) * interval '1 second'"
    statements = [
        f"""INSERT INTO {t(MirrorUser)} (location_id, ghl_id, synced_at, first_name, last_name,
            email, phone, role)
            SELECT %(loc)s, 'agent' || g, now(), 'Agent', g::text, 'agent' || g || '@x.test', '',
                   'user' FROM generate_series(1, {agents}) g""",  # noqa: S608 — table names from the models
        f"""INSERT INTO {t(MirrorPipeline)} (location_id, ghl_id, synced_at, name, stages)
            VALUES (%(loc)s, 'pipe1', now(), 'Sales', '{stages}'::jsonb)""",  # noqa: S608
        f"""INSERT INTO {t(MirrorContact)} (location_id, ghl_id, synced_at, ghl_updated_at,
            first_name, last_name, email, phone, company_name, source, contact_type, assigned_to,
            address1, city, state, postal_code, country, timezone, dnd, tags, custom_fields,
            date_added)
            SELECT %(loc)s, 'c' || g, now(), now(), 'Lead', g::text, 'lead' || g || '@x.test',
                   '', '', (ARRAY['Bayut','Facebook Ads','Website','Walk-in','Referral',
                   'Google Ads','Property Finder',''])[1 + g %% 8], 'lead',
                   CASE WHEN g %% 10 = 0 THEN '' ELSE {agent} END, '', '', '', '', '', '',
                   false, '{{}}', '{{}}'::jsonb, {added}
            FROM generate_series(1, %(n)s) g""",  # noqa: S608 — table names from the models
        f"""INSERT INTO {t(MirrorOpportunity)} (location_id, ghl_id, synced_at, ghl_updated_at,
            name, contact_ghl_id, pipeline_ghl_id, stage_ghl_id, status, monetary_value,
            assigned_to, source, ghl_created_at, last_status_change_at, last_stage_change_at)
            SELECT %(loc)s, 'o' || g, now(), now(), 'Deal', 'c' || g, 'pipe1', 'stage' || g %% 6,
                   (ARRAY['open','open','won','lost'])[1 + g %% 4], (g %% 97) * 1000, {agent},
                   (ARRAY['Bayut','Facebook Ads','Website','Walk-in'])[1 + g %% 4],
                   {added}, {added} + interval '3 days', NULL
            FROM generate_series(1, %(n)s * 3 / 10) g""",  # noqa: S608 — table names from the models
        f"""INSERT INTO {t(MirrorAppointment)} (location_id, ghl_id, synced_at, ghl_updated_at,
            calendar_ghl_id, contact_ghl_id, assigned_user_ghl_id, title, status, start_time,
            end_time, ghl_created_at)
            SELECT %(loc)s, 'a' || g, now(), now(), 'cal1', 'c' || g, {agent}, 'Viewing',
                   (ARRAY['confirmed','showed','noshow','cancelled','showed'])[1 + g %% 5],
                   {added} + interval '2 days', NULL, {added}
            FROM generate_series(1, %(n)s * 4 / 10) g""",  # noqa: S608 — table names from the models
        f"""INSERT INTO {t(MirrorMessage)} (location_id, ghl_id, synced_at, ghl_updated_at,
            conversation_ghl_id, contact_ghl_id, message_type, direction, status, user_ghl_id,
            date_added)
            SELECT %(loc)s, 'm' || g, now(), now(), 'conv' || g %% %(n)s, 'c' || (1 + g %% %(n)s),
                   'TYPE_SMS', CASE WHEN g %% 2 = 0 THEN 'outbound' ELSE 'inbound' END,
                   'delivered', '', now() - ((1 + g %% %(n)s) %% 365) * interval '1 day'
                   - ((1 + g %% %(n)s) %% 86400) * interval '1 second'
                   + (g %% 3600) * interval '1 second'
            FROM generate_series(1, %(n)s * 5 / 2) g""",  # noqa: S608 — table names from the models
        f"""INSERT INTO {t(RoutingDecision)} (location_id, contact_ghl_id, rule_name, status,
            agent_ghl_id, strategy, candidates, summary, timings, is_current, created_at,
            ghl_error, ghl_opportunity_id)
            SELECT %(loc)s, 'c' || g, 'All leads',
                   CASE WHEN g %% 20 = 0 THEN 'unroutable' ELSE 'assigned' END,
                   CASE WHEN g %% 20 = 0 THEN '' ELSE {agent} END, 'round_robin', '[]'::jsonb, '',
                   '{{}}'::jsonb, true, {added} + (g %% 900) * interval '1 second', '', ''
            FROM generate_series(1, %(n)s * 6 / 10) g""",  # noqa: S608 — table names from the models
    ]
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql, {"loc": location_id, "n": contacts})
        cursor.execute("ANALYZE")


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


def _child() -> dict[str, float]:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from integrations.reporting.refresh import report_rollups_rebuild
    from tenants import selectors, services
    from tenants.models import Location, Membership, User

    connection.settings_dict["TEST"]["NAME"] = SCRATCH_DB
    original = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        agency = services.agency_create(acting_user=None, name="Bench Realty", slug="bench-realty")
        big, *others = (
            Location.objects.create(
                agency=agency, name=name, ghl_location_id=f"BenchLoc{i}", timezone="Asia/Dubai"
            )
            for i, name in enumerate(("Dubai Marina", "Abu Dhabi", "Sharjah"))
        )
        owner = User.objects.create_user("owner@bench.test", "bench-password", agency=agency)
        Membership.objects.create(user=owner, agency=agency, role=Membership.Role.AGENCY_OWNER)
        manager = User.objects.create_user("manager@bench.test", "bench-password", agency=agency)
        Membership.objects.create(
            user=manager, agency=agency, location=big, role=Membership.Role.CLIENT_ADMIN
        )
        _fill(big.pk, CONTACTS)
        for other in others:
            _fill(other.pk, CONTACTS // 20)
        builds = []
        for _ in range(2):
            started = time.perf_counter()
            report_rollups_rebuild(location_id=big.pk)
            builds.append(time.perf_counter() - started)
        for other in others:
            report_rollups_rebuild(location_id=other.pk)
        # What the minute's refresh does after a webhook: one local day and the snapshots.
        day = timezone.now().astimezone(ZoneInfo(big.timezone)).date() - timedelta(days=3)
        slices = []
        for _ in range(5):
            started = time.perf_counter()
            report_rollups_rebuild(location_id=big.pk, days=[day])
            slices.append(time.perf_counter() - started)

        client = Client(HTTP_HOST=selectors.agency_primary_domain(agency))
        client.force_login(owner)
        url = "/admin/integrations/reportschedule/dashboard/"

        def timed(query: dict[str, Any], *, on: Any = client, path: str = url) -> list[float]:
            samples = []
            for i in range(WARMUP + REQUESTS):
                started = time.perf_counter()
                response = on.get(path, query)
                elapsed = time.perf_counter() - started
                assert response.status_code == 200, response.status_code
                if i >= WARMUP:
                    samples.append(elapsed)
            return samples

        location_query: dict[str, Any] = {"range": "30d", "location": big.pk}
        statements: list[str] = []

        def count(execute: Any, sql: str, *args: Any) -> Any:
            statements.append(sql)
            return execute(sql, *args)

        with connection.execute_wrapper(count):
            assert client.get(url, location_query).status_code == 200
        location_samples = timed(location_query)
        agency_samples = timed({"range": "30d"})
        portal = Client(HTTP_HOST=selectors.agency_primary_domain(agency))
        portal.force_login(manager)
        portal_samples = timed({"range": "30d"}, on=portal, path=f"/app/l/{big.pk}/dashboard/")
        contacts_samples = timed({}, on=portal, path=f"/app/l/{big.pk}/contacts/")
        return {
            "build_s": min(builds),
            "slice_ms": statistics.median(slices) * 1000,
            "location_p95_ms": _p95(location_samples) * 1000,
            "location_median_ms": statistics.median(location_samples) * 1000,
            "agency_p95_ms": _p95(agency_samples) * 1000,
            "portal_p95_ms": _p95(portal_samples) * 1000,
            "portal_median_ms": statistics.median(portal_samples) * 1000,
            "contacts_p95_ms": _p95(contacts_samples) * 1000,
            "queries": float(len(statements)),
        }
    finally:
        connection.creation.destroy_test_db(original, verbosity=0)


def run(ctx: BenchContext) -> list[Figure]:
    done = subprocess.run(
        [ctx.python, "-m", "bench.bench_reporting", "--child"],
        cwd=ROOT,
        env=_engines_env(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"reporting bench child failed: {done.stderr[-2000:]}")
    got = json.loads(done.stdout.strip().splitlines()[-1])
    return [
        Figure("R1", "rollup rebuild of a 100k-contact location", got["build_s"], "s",
               notes="contacts, opportunities, appointments, messages, decisions"),
        Figure("R1d", "refresh of one dirty day of that location", got["slice_ms"], "ms",
               notes="median of 5; day-keyed rollups of the day + pipeline and label snapshots"),
        Figure("R2", "location dashboard p95 (100k contacts, 30 days)", got["location_p95_ms"],
               "ms", goal="<= 100",
               notes=f"median {got['location_median_ms']:.1f} ms"),
        Figure("R2q", "queries per location dashboard request", got["queries"], "queries",
               goal="<= 12",
               notes="session, user, agency, role, locations, packs' report set, 7 selector reads"),
        Figure("R3", "agency dashboard p95 (3 locations, 30 days)", got["agency_p95_ms"], "ms",
               goal="<= 100"),
        Figure("P8", "portal dashboard p95 (100k contacts, 30 days)", got["portal_p95_ms"], "ms",
               goal="<= 100", notes=f"median {got['portal_median_ms']:.1f} ms; client admin"),
        Figure("P8c", "portal contact list p95 (100k contacts)", got["contacts_p95_ms"], "ms",
               goal="<= 100", notes="first page, newest first"),
    ]  # fmt: skip


if __name__ == "__main__" and sys.argv[1:] == ["--child"]:
    print(json.dumps(_child()))
