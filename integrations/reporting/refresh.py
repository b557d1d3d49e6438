"""Building the rollups from the mirror and the routing decisions, set-based.

A rebuild replaces one location's rows in every rollup table in one transaction (delete, then
`INSERT … SELECT … GROUP BY`), so a dashboard never sees half a rebuild. Rebuilds of one location
are serialised by a transaction-level advisory lock.

Freshness: every write to a location's mirror (`mirror_written`) and every stored routing
decision marks the location dirty in the writing transaction (`report_mark_dirty`); the periodic
task claims dirty locations and rebuilds them. Claiming deletes the marker in a short transaction
of its own: it waits for a writer still holding the marker row, so the rebuild that follows sees
that writer's rows, and a write committed after the claim marks the location again.

SQL is composed only from the models' table names, quoted; values are bound.
"""

from __future__ import annotations

import time
from datetime import datetime

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
    ReportDirty,
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


def _statements() -> list[str]:
    """The INSERT … SELECT of every rollup, for the location `%(loc)s` in its time zone."""
    zone = f"(SELECT timezone FROM {_t(Location)} WHERE id = %(loc)s)"  # noqa: S608
    return [
        f"""
        WITH leads AS (
            SELECT c.ghl_id, c.date_added, c.source, c.assigned_to,
                   (c.date_added AT TIME ZONE {zone})::date AS day
            FROM {_t(MirrorContact)} c
            WHERE c.location_id = %(loc)s AND c.date_added IS NOT NULL
        ), assigned AS (
            SELECT d.contact_ghl_id, min(d.created_at) AS at FROM {_t(RoutingDecision)} d
            WHERE d.location_id = %(loc)s AND d.agent_ghl_id <> '' GROUP BY d.contact_ghl_id
        ), replied AS (
            SELECT m.contact_ghl_id, min(m.date_added) AS at FROM {_t(MirrorMessage)} m
            WHERE m.location_id = %(loc)s AND m.direction = 'outbound'
              AND m.date_added IS NOT NULL
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
        FROM events GROUP BY day, pipeline_ghl_id, source, assigned_to
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
        GROUP BY 2, 3
        """,  # noqa: S608 — identifiers from the models, values bound
        f"""
        INSERT INTO {_t(RoutingDay)} (location_id, day, agent, status, decisions)
        SELECT %(loc)s, (created_at AT TIME ZONE {zone})::date, agent_ghl_id, status, count(*)
        FROM {_t(RoutingDecision)}
        WHERE location_id = %(loc)s AND is_current
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


_ROLLUPS = (LeadDay, PipelineStage, OutcomeDay, AppointmentDay, RoutingDay, ReportLabel)


def report_rollups_rebuild(*, location_id: int) -> int:
    """Replace every rollup row of the location; returns the time it took in milliseconds."""
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_CLASS, location_id])
        for model in _ROLLUPS:
            cursor.execute(
                f"DELETE FROM {_t(model)} WHERE location_id = %s",  # noqa: S608
                [location_id],
            )
        for sql in _statements():
            cursor.execute(sql, {"loc": location_id})
        elapsed = round((time.monotonic() - started) * 1000)
        cursor.execute(
            f"INSERT INTO {_t(ReportState)} (location_id, built_at, build_ms)"  # noqa: S608
            " VALUES (%s, statement_timestamp(), %s) ON CONFLICT (location_id) DO UPDATE"
            " SET built_at = EXCLUDED.built_at, build_ms = EXCLUDED.build_ms",
            [location_id, elapsed],
        )
    log.info("reporting.rebuilt", location_id=location_id, ms=elapsed)
    return elapsed


def report_mark_dirty(*, location_id: int) -> None:
    """Mark the location's rollups stale, inside the caller's transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_t(ReportDirty)} (location_id, marked_at)"  # noqa: S608
            " VALUES (%s, clock_timestamp()) ON CONFLICT (location_id) DO UPDATE"
            " SET marked_at = EXCLUDED.marked_at",
            [location_id],
        )


def _claim(location_id: int) -> bool:
    with transaction.atomic():
        claimed, _ = ReportDirty.objects.filter(location_id=location_id).delete()
    return bool(claimed)


def report_dirty_refresh(*, limit: int = 200) -> int:
    """Rebuild the locations marked dirty, oldest mark first; returns how many were rebuilt.
    A location another worker claimed first is skipped; a failed rebuild is marked again."""
    waiting: list[tuple[int, datetime]] = list(
        ReportDirty.objects.unscoped()
        .order_by("marked_at")
        .values_list("location_id", "marked_at")[:limit]
    )
    rebuilt = 0
    for location_id, _marked in waiting:
        if not _claim(location_id):
            continue
        try:
            report_rollups_rebuild(location_id=location_id)
        except Exception:
            with transaction.atomic():
                report_mark_dirty(location_id=location_id)
            log.exception("reporting.rebuild_failed", location_id=location_id)
            continue
        rebuilt += 1
    return rebuilt


def report_built_at(*, location: Location) -> datetime | None:
    state = ReportState.objects.for_location(location).first()
    return state.built_at if state else None
