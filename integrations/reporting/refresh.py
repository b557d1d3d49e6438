"""Building the rollups from the mirror and the routing decisions, set-based.

A rebuild replaces a location's rows in one transaction (delete, then `INSERT … SELECT … GROUP
BY`), so a dashboard never sees half a rebuild: either every row (the command, a first build) or
only the given local days of the day-keyed rollups plus the two small snapshots (the pipeline as
it stands, the labels) — what the refresh of `dirty.py` does. Rebuilds of one location are
serialised by a transaction-level advisory lock.

SQL is composed only from the models' table names, quoted; values are bound.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from datetime import date
from typing import Any

from django.db import connection, transaction

from integrations.mirror.models import (
    MirrorAppointment,
    MirrorContact,
    MirrorMessage,
    MirrorOpportunity,
    MirrorPipeline,
    MirrorUser,
)
from integrations.routing.models import RoutingDecision
from saas_platform.kernel.logging import get_logger
from tenants.models import Location

from .models import (
    AppointmentDay,
    LeadDay,
    OutcomeDay,
    PipelineStage,
    ReportLabel,
    ReportState,
    RoutingDay,
)

log = get_logger(__name__)

# The advisory-lock class of rollup rebuilds (the second key is the location id).
_LOCK_CLASS = 7_005
# A response this fast counts as "within five minutes".
FAST_RESPONSE_SECONDS = 300


def _t(model: type) -> str:
    return connection.ops.quote_name(model._meta.db_table)  # type: ignore[attr-defined]


def zone_sql() -> str:
    """The location `%(loc)s`'s time zone, as SQL."""
    return f"(SELECT timezone FROM {_t(Location)} WHERE id = %(loc)s)"  # noqa: S608


def _statements(*, sliced: bool) -> list[tuple[type, str]]:
    """The INSERT … SELECT of every rollup, for the location `%(loc)s` in its time zone; when
    `sliced`, the day-keyed ones only for the local days `%(days)s`."""
    zone = zone_sql()

    def only(day: str) -> str:
        return f"AND {day} = ANY(%(days)s)" if sliced else ""

    def within(column: str) -> str:
        """The days' span as a range on an indexed timestamp (`only` alone cannot use one)."""
        if not sliced:
            return ""
        start = f"(%(first)s::date::timestamp AT TIME ZONE {zone})"
        end = f"((%(last)s::date + 1)::timestamp AT TIME ZONE {zone})"
        return f"AND {column} >= {start} AND {column} < {end}"

    # A day's leads need only their own contacts' first assignment and reply.
    of_leads = "AND {0}.contact_ghl_id IN (SELECT ghl_id FROM leads)" if sliced else ""
    order = (LeadDay, PipelineStage, OutcomeDay, AppointmentDay, RoutingDay, ReportLabel)
    sql = [
        f"""
        WITH leads AS (
            SELECT c.ghl_id, c.date_added, c.source, c.assigned_to,
                   (c.date_added AT TIME ZONE {zone})::date AS day
            FROM {_t(MirrorContact)} c
            WHERE c.location_id = %(loc)s AND c.date_added IS NOT NULL
              {within("c.date_added")} {only(f"(c.date_added AT TIME ZONE {zone})::date")}
        ), assigned AS (
            SELECT d.contact_ghl_id, min(d.created_at) AS at FROM {_t(RoutingDecision)} d
            WHERE d.location_id = %(loc)s AND d.agent_ghl_id <> '' {of_leads.format("d")}
            GROUP BY d.contact_ghl_id
        ), replied AS (
            SELECT m.contact_ghl_id, min(m.date_added) AS at FROM {_t(MirrorMessage)} m
            WHERE m.location_id = %(loc)s AND m.direction = 'outbound'
              AND m.date_added IS NOT NULL {of_leads.format("m")}
            GROUP BY m.contact_ghl_id
        ), timed AS (
            -- a clock skew between GHL and us must not make a negative delay (greatest()
            -- skips NULLs, hence the CASE: no assignment stays no assignment)
            SELECT l.day, l.source, l.assigned_to,
                   CASE WHEN a.at IS NOT NULL
                        THEN greatest(0, extract(epoch FROM a.at - l.date_added))::bigint
                   END AS assign_s,
                   CASE WHEN r.at IS NOT NULL
                        THEN greatest(0, extract(epoch FROM r.at - l.date_added))::bigint
                   END AS respond_s
            FROM leads l
            LEFT JOIN assigned a ON a.contact_ghl_id = l.ghl_id
            LEFT JOIN replied r ON r.contact_ghl_id = l.ghl_id
        )
        INSERT INTO {_t(LeadDay)} (location_id, day, source, agent, leads, assigned,
            assign_seconds, responded, respond_seconds, responded_5m)
        SELECT %(loc)s, day, source, assigned_to, count(*), count(assign_s),
               coalesce(sum(assign_s), 0), count(respond_s), coalesce(sum(respond_s), 0),
               count(*) FILTER (WHERE respond_s <= {FAST_RESPONSE_SECONDS})
        FROM timed GROUP BY day, source, assigned_to
        """,  # noqa: S608 — identifiers from the models, values bound
        f"""
        INSERT INTO {_t(PipelineStage)} (location_id, pipeline, stage, status, source, agent,
            opportunities, value)
        SELECT %(loc)s, pipeline_ghl_id, stage_ghl_id, status, source, assigned_to, count(*),
               coalesce(sum(monetary_value), 0)
        FROM {_t(MirrorOpportunity)} WHERE location_id = %(loc)s
        GROUP BY pipeline_ghl_id, stage_ghl_id, status, source, assigned_to
        """,  # noqa: S608 — identifiers from the models, values bound
        f"""
        WITH events AS (
            SELECT (ghl_created_at AT TIME ZONE {zone})::date AS day, pipeline_ghl_id, source,
                   assigned_to, 1 AS opened, 0 AS won, 0 AS lost,
                   0::numeric AS won_value, 0::numeric AS lost_value
            FROM {_t(MirrorOpportunity)}
            WHERE location_id = %(loc)s AND ghl_created_at IS NOT NULL
            UNION ALL
            -- closed on the day its status last changed (or, lacking that, it last changed)
            SELECT (coalesce(last_status_change_at, ghl_updated_at) AT TIME ZONE {zone})::date,
                   pipeline_ghl_id, source, assigned_to, 0,
                   (status = 'won')::int, (status = 'lost')::int,
                   CASE WHEN status = 'won' THEN monetary_value ELSE 0 END,
                   CASE WHEN status = 'lost' THEN monetary_value ELSE 0 END
            FROM {_t(MirrorOpportunity)}
            WHERE location_id = %(loc)s AND status IN ('won', 'lost')
              AND coalesce(last_status_change_at, ghl_updated_at) IS NOT NULL
        )
        INSERT INTO {_t(OutcomeDay)} (location_id, day, pipeline, source, agent, opened, won,
            lost, won_value, lost_value)
        SELECT %(loc)s, day, pipeline_ghl_id, source, assigned_to, sum(opened), sum(won),
               sum(lost), sum(won_value), sum(lost_value)
        FROM events WHERE true {only("day")} GROUP BY day, pipeline_ghl_id, source, assigned_to
        """,  # noqa: S608 — identifiers from the models, values bound
        f"""
        INSERT INTO {_t(AppointmentDay)} (location_id, day, agent, booked, showed, no_show,
            cancelled)
        SELECT %(loc)s, (start_time AT TIME ZONE {zone})::date, assigned_user_ghl_id,
               count(*) FILTER (WHERE status NOT IN ('cancelled', 'invalid')),
               count(*) FILTER (WHERE status = 'showed'),
               count(*) FILTER (WHERE status = 'noshow'),
               count(*) FILTER (WHERE status = 'cancelled')
        FROM {_t(MirrorAppointment)}
        WHERE location_id = %(loc)s AND start_time IS NOT NULL
          {within("start_time")} {only(f"(start_time AT TIME ZONE {zone})::date")}
        GROUP BY 2, 3
        """,  # noqa: S608 — identifiers from the models, values bound
        f"""
        INSERT INTO {_t(RoutingDay)} (location_id, day, agent, status, decisions)
        SELECT %(loc)s, (created_at AT TIME ZONE {zone})::date, agent_ghl_id, status, count(*)
        FROM {_t(RoutingDecision)}
        WHERE location_id = %(loc)s AND is_current {only(f"(created_at AT TIME ZONE {zone})::date")}
        GROUP BY 2, 3, 4
        """,  # noqa: S608 — identifiers from the models, values bound
        f"""
        INSERT INTO {_t(ReportLabel)} (location_id, kind, key, label, position)
        SELECT %(loc)s, 'agent', ghl_id,
               left(coalesce(nullif(trim(first_name || ' ' || last_name), ''),
                             nullif(email, ''), ghl_id), 300), 0
        FROM {_t(MirrorUser)} WHERE location_id = %(loc)s
        UNION ALL
        SELECT %(loc)s, 'pipeline', ghl_id, left(name, 300), 0
        FROM {_t(MirrorPipeline)} WHERE location_id = %(loc)s
        UNION ALL
        SELECT DISTINCT %(loc)s, 'source', left(source, 64), source, 0
        FROM (SELECT source FROM {_t(MirrorContact)} WHERE location_id = %(loc)s
              UNION SELECT source FROM {_t(MirrorOpportunity)} WHERE location_id = %(loc)s) s
        WHERE source <> ''
        UNION ALL
        SELECT %(loc)s, 'stage', left(s.value ->> 'id', 64),
               left(coalesce(s.value ->> 'name', s.value ->> 'id'), 300), s.ordinality::int
        FROM {_t(MirrorPipeline)} p,
             jsonb_array_elements(CASE WHEN jsonb_typeof(p.stages) = 'array'
                                       THEN p.stages ELSE '[]'::jsonb END)
                 WITH ORDINALITY AS s(value, ordinality)
        WHERE p.location_id = %(loc)s AND s.value ->> 'id' IS NOT NULL
        ON CONFLICT DO NOTHING
        """,  # noqa: S608 — identifiers from the models, values bound
    ]
    return list(zip(order, sql, strict=True))


_BY_DAY = (LeadDay, OutcomeDay, AppointmentDay, RoutingDay)
_SNAPSHOTS = (PipelineStage, ReportLabel)  # small, whole location every time


def report_rollups_rebuild(*, location_id: int, days: Collection[date] | None = None) -> int:
    """Replace the location's rollup rows (with `days`, only those local days' rows of the
    day-keyed rollups, and the snapshots); returns the time it took in milliseconds."""
    started = time.monotonic()
    sliced = days is not None
    day_list = sorted(days or ())
    params: dict[str, Any] = {"loc": location_id, "days": day_list}
    params.update(first=day_list[0] if day_list else None, last=day_list[-1] if day_list else None)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_CLASS, location_id])
        for table in (*_BY_DAY, *_SNAPSHOTS):
            on_days = " AND day = ANY(%(days)s)" if sliced and table in _BY_DAY else ""
            cursor.execute(
                f"DELETE FROM {_t(table)} WHERE location_id = %(loc)s{on_days}",  # noqa: S608
                params,
            )
        for model, sql in _statements(sliced=sliced):
            if sliced and not days and model in _BY_DAY:
                continue  # only names changed (agents, pipelines): the snapshots will do
            cursor.execute(sql, params)
        elapsed = round((time.monotonic() - started) * 1000)
        cursor.execute(
            f"INSERT INTO {_t(ReportState)} (location_id, built_at, build_ms)"  # noqa: S608
            " VALUES (%s, statement_timestamp(), %s) ON CONFLICT (location_id) DO UPDATE"
            " SET built_at = EXCLUDED.built_at, build_ms = EXCLUDED.build_ms",
            [location_id, elapsed],
        )
    log.info("reporting.rebuilt", location_id=location_id, days=len(day_list), ms=elapsed)
    return elapsed
