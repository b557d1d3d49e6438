"""Keeping the rollups fresh: what changed is marked where it is written, and rebuilt later.

A mirror write (`mirror_writing` before, `mirror_written` after, both inside the writer's
transaction) marks the local days its records fall on, before and after the write, so that a deal
reopened leaves the day it was won and a deleted lead leaves its day. A message or a routing
decision marks the day of its contact's creation, whose speed-to-lead it changes, and a decision
also its own day. Days are `ReportDirtyDay` rows; the location itself is a `ReportDirty` row,
upserted so that the writer holds its lock until commit.

`report_dirty_refresh` (every minute) claims a location: it deletes the `ReportDirty` row, and so
waits for any writer still holding it, then takes its dirty days in the same short transaction.
The rebuild that follows sees every write that marked those days; a write committed after the
claim marks the location again. A failed rebuild puts its days back.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime

from django.db import connection, transaction

from integrations.mirror.models import (
    MirrorAppointment,
    MirrorContact,
    MirrorMessage,
    MirrorOpportunity,
)
from saas_platform.kernel.logging import get_logger

from .models import ReportDirty, ReportDirtyDay
from .refresh import _t, report_rollups_rebuild, zone_sql

log = get_logger(__name__)


def _day_sql() -> dict[str, str]:
    """Per mirror kind: the local days of the records `%(ids)s` (for a message: its contact's)."""
    zone = zone_sql()

    def day(column: str, table: type, alias: str = "r") -> str:
        return (
            f"SELECT ({alias}.{column} AT TIME ZONE {zone})::date FROM {_t(table)} {alias}"  # noqa: S608
            f" WHERE {alias}.location_id = %(loc)s AND {alias}.ghl_id = ANY(%(ids)s)"
            f" AND {alias}.{column} IS NOT NULL"
        )

    closed = day("ghl_created_at", MirrorOpportunity).replace(
        "r.ghl_created_at", "coalesce(r.last_status_change_at, r.ghl_updated_at)"
    )
    return {
        "contact": day("date_added", MirrorContact),
        "opportunity": f"{day('ghl_created_at', MirrorOpportunity)} UNION {closed}",
        "appointment": day("start_time", MirrorAppointment),
        "message": (
            f"SELECT (c.date_added AT TIME ZONE {zone})::date FROM {_t(MirrorMessage)} m"  # noqa: S608
            f" JOIN {_t(MirrorContact)} c"
            " ON c.location_id = m.location_id AND c.ghl_id = m.contact_ghl_id"
            " WHERE m.location_id = %(loc)s AND m.ghl_id = ANY(%(ids)s)"
            " AND c.date_added IS NOT NULL"
        ),
    }


def record_days(*, location_id: int, kind: str, ghl_ids: Sequence[str]) -> set[date]:
    """The local days that the location's records of `kind` count on now (none for kinds that no
    day-keyed rollup reads: users, pipelines, conversations)."""
    sql = _day_sql().get(kind)
    if sql is None or not ghl_ids:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(sql, {"loc": location_id, "ids": list(ghl_ids)})
        return {found for (found,) in cursor.fetchall()}


def decision_days(*, location_id: int, contact_ghl_id: str, created_at: datetime) -> set[date]:
    """A routing decision's own local day and its contact's creation day."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (%(at)s::timestamptz AT TIME ZONE {zone_sql()})::date UNION "
            + _day_sql()["contact"],
            {"loc": location_id, "ids": [contact_ghl_id], "at": created_at},
        )
        return {found for (found,) in cursor.fetchall()}


def report_mark_dirty(*, location_id: int, days: Collection[date] = ()) -> None:
    """Mark the location (and these local days) stale, inside the caller's transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_t(ReportDirty)} (location_id, marked_at)"  # noqa: S608
            " VALUES (%s, clock_timestamp()) ON CONFLICT (location_id) DO UPDATE"
            " SET marked_at = EXCLUDED.marked_at",
            [location_id],
        )
        if days:
            cursor.execute(
                f"INSERT INTO {_t(ReportDirtyDay)} (location_id, day)"
                " SELECT %s, unnest(%s::date[]) ON CONFLICT DO NOTHING",
                [location_id, sorted(days)],
            )


def _claim(location_id: int) -> list[date] | None:
    """The location's dirty days, taken; None when another worker claimed it first."""
    with transaction.atomic():
        claimed, _ = ReportDirty.objects.filter(location_id=location_id).delete()
        if not claimed:
            return None
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {_t(ReportDirtyDay)} WHERE location_id = %s RETURNING day",  # noqa: S608
                [location_id],
            )
            return [found for (found,) in cursor.fetchall()]


def report_dirty_refresh(*, limit: int = 200) -> int:
    """Rebuild the dirty days of the locations marked, oldest mark first; returns how many
    locations were refreshed."""
    waiting = list(
        ReportDirty.objects.unscoped()
        .order_by("marked_at")
        .values_list("location_id", flat=True)[:limit]
    )
    refreshed = 0
    for location_id in waiting:
        days = _claim(location_id)
        if days is None:
            continue
        try:
            report_rollups_rebuild(location_id=location_id, days=days)
        except Exception:
            with transaction.atomic():
                report_mark_dirty(location_id=location_id, days=days)
            log.exception("reporting.refresh_failed", location_id=location_id)
            continue
        refreshed += 1
    return refreshed


def report_location_rebuild(*, location_id: int) -> int:
    """Rebuild every rollup row of the location, taking its dirty marks first (they are all
    covered); returns the time the rebuild took in milliseconds."""
    days = _claim(location_id) or []
    try:
        return report_rollups_rebuild(location_id=location_id)
    except Exception:
        with transaction.atomic():
            report_mark_dirty(location_id=location_id, days=days)
        raise
