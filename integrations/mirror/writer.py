"""Set-based writes into the GHL mirror: COPY into a temporary staging table (a few records: an
inline VALUES list), then one statement.

The rules every write follows (docs/mirror.md has the why):

* newest wins: a record older than the stored row is refused (`stale`); a row stored without a
  change time can be overwritten by anything, a record without one cannot overwrite a dated row;
* deletion wins ties: a record not newer than its tombstone is refused; a newer one means GHL
  restored it, so it is written and the tombstone cleared (`mirror_delete` itself removes rows
  whatever their change time);
* identical data is not written: no new row version, `synced_at` unchanged;
* a batch is all or nothing, inside the caller's transaction (a savepoint when there is one, so a
  failure leaves the caller's transaction usable; a transaction of its own when there is none).

SQL is composed only from constants and the models' table and column names, quoted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from integrations.mirror import coerce
from integrations.mirror.coerce import FieldError
from integrations.mirror.mapping import (
    InvalidRecordsError,
    Kind,
    RecordProblem,
    Row,
    kind_of,
    map_records,
)
from integrations.mirror.models import MirrorTombstone
from integrations.mirror.signals import mirror_writing, mirror_written
from integrations.webhooks_out.dispatch import mirror_events_sql
from tenants.events import events_announce
from tenants.models import Location

_DELETIONS_STAGE = "_mirror_stage_deletions"
# Up to this many records are written from an inline VALUES list instead of a staging table: a
# temporary table is a CREATE and a DROP in the system catalogs, which a webhook's single record
# would pay for on every event (and which bloats the catalogs at webhook rates).
INLINE_ROWS = 32
_column_types: dict[str, dict[str, str]] = {}


@dataclass(frozen=True)
class WriteResult:
    inserted: int
    updated: int
    unchanged: int
    stale: int  # older than the stored row or its tombstone, or superseded within the batch
    deleted: int  # records GHL marks `deleted: true`, applied as deletions

    @property
    def written(self) -> int:
        return self.inserted + self.updated


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def mirror_upsert(
    *,
    location_id: int,
    kind: str,
    records: Sequence[Mapping[str, Any]],
    changed_at: datetime | None = None,
) -> WriteResult:
    """Write GHL records of one kind into one location's mirror.

    `changed_at` is the change time of records that carry none of their own (a webhook's event
    timestamp). Raises `InvalidRecordsError` (nothing written) when any record cannot be mapped,
    `LookupError` for an unknown location. Every record lands in exactly one count.
    """
    spec = kind_of(kind)
    if not records:
        return WriteResult(0, 0, 0, 0, 0)
    location_ghl_id = _location_ghl_id(location_id)
    mapped = map_records(
        kind, records, changed_at=changed_at, location_ghl_id=location_ghl_id or None
    )
    upserts, deletions, superseded = _newest_per_id(mapped.rows, mapped.deleted)
    inserted = updated = stale = refused = 0
    touched = [row[0] for row in upserts] + [ghl_id for ghl_id, _at in deletions]
    with transaction.atomic(), connection.cursor() as cursor:
        mirror_writing.send(Location, location_id=location_id, kind=spec.name, ghl_ids=touched)
        if upserts:
            inserted, updated, stale = _upsert(cursor, spec, location_id, upserts)
        if deletions:
            # A record saying "deleted" is a record: older than the stored row, it is stale.
            _removed, refused = _delete(cursor, spec, location_id, deletions, unless_newer=True)
        if inserted + updated or len(deletions) > refused:
            mirror_written.send(Location, location_id=location_id, kind=spec.name, ghl_ids=touched)
    return WriteResult(
        inserted=inserted,
        updated=updated,
        unchanged=len(upserts) - inserted - updated - stale,
        stale=stale + refused + superseded,
        deleted=len(deletions) - refused,
    )


def mirror_delete(
    *, location_id: int, kind: str, ghl_ids: Sequence[str], deleted_at: datetime
) -> int:
    """Remove records GHL deleted (or we erase) and leave tombstones, each keeping the newest
    deletion time it has seen, so a record not changed after it is refused later. The rows go
    whatever their change time: an erasure must not depend on GHL's clock. Returns the number of
    rows removed."""
    spec = kind_of(kind)
    if deleted_at.tzinfo is None:
        raise ValueError("deleted_at must be timezone-aware")
    limit = spec.limits["ghl_id"]
    ids: dict[str, None] = {}
    problems: list[RecordProblem] = []
    for index, raw in enumerate(ghl_ids):
        try:
            ids[coerce.ghl_id(raw, limit)] = None
        except FieldError as exc:
            problems.append(RecordProblem(index, raw if isinstance(raw, str) else None, str(exc)))
    if problems:
        raise InvalidRecordsError(kind, problems)
    if not ids:
        return 0
    _location_ghl_id(location_id)
    with transaction.atomic(), connection.cursor() as cursor:
        gone = [(ghl_id, deleted_at) for ghl_id in ids]
        mirror_writing.send(Location, location_id=location_id, kind=spec.name, ghl_ids=list(ids))
        removed, _refused = _delete(cursor, spec, location_id, gone, unless_newer=False)
        if removed:
            mirror_written.send(
                Location, location_id=location_id, kind=spec.name, ghl_ids=list(ids)
            )
    return removed


# --- the parts ----------------------------------------------------------------------------------


def _location_ghl_id(location_id: int) -> str:
    # Checked up front: the FK is deferred, so a wrong id would only fail at the caller's commit.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_q('ghl_location_id')} FROM {_q(Location._meta.db_table)} "  # noqa: S608
            f"WHERE {_q('id')} = %s",
            [location_id],
        )
        found = cursor.fetchone()
    if found is None:
        raise LookupError(f"no location with id {location_id}")
    return str(found[0] or "")


def _is_newer(candidate: datetime | None, current: datetime | None) -> bool:
    """Within a batch: a later duplicate wins unless it is older (undated counts as oldest)."""
    if current is None:
        return True
    return candidate is not None and candidate >= current


def _newest_per_id(
    rows: list[Row], deleted: set[int]
) -> tuple[list[Row], list[tuple[str, datetime]], int]:
    """(rows to upsert, (id, time) of deletions, records superseded by a newer one in the batch).
    One statement cannot touch a row twice (ON CONFLICT would fail), so duplicates end here."""
    if not deleted and len({row[0] for row in rows}) == len(rows):
        return rows, [], 0  # the usual batch: nothing to sort out
    latest: dict[str, int] = {}
    for index, row in enumerate(rows):
        held = latest.get(row[0])
        if held is None or _is_newer(row[1], rows[held][1]):
            latest[row[0]] = index
    now = timezone.now()
    upserts = [rows[i] for i in latest.values() if i not in deleted]
    # A deletion GHL reports without a time happened no later than now.
    deletions = [(rows[i][0], rows[i][1] or now) for i in latest.values() if i in deleted]
    return upserts, deletions, len(rows) - len(latest)


def _stage(
    cursor: CursorWrapper,
    name: str,
    ddl: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> None:
    """Fill a session-private staging table, dropped at the end of the transaction, by binary
    COPY (about three times faster on the server than text for these rows).

    The staging table carries the location in a column, and every join matches on that column
    rather than on a constant: the planner then estimates a location's rows from the table's
    statistics as a whole. With a constant, a location that grew since the last ANALYZE (a first
    backfill) is estimated at one row and the joins turn into nested loops over the whole
    location, once per staged row."""
    stage = _q(name)
    cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} {ddl}")
    # A second write of the same kind in one transaction finds the table still there.
    cursor.execute(f"TRUNCATE {stage}")
    # Binary COPY sends each value in its column's own type: look the types up, in COPY order.
    cursor.execute(
        "SELECT a.atttypid::int FROM unnest(%s::text[]) WITH ORDINALITY AS c(name, n)"
        " JOIN pg_attribute a ON a.attrelid = %s::regclass AND a.attname = c.name ORDER BY c.n",
        [list(columns), stage],
    )
    types = [oid for (oid,) in cursor.fetchall()]
    column_list = ", ".join(_q(c) for c in columns)
    pg_cursor = cursor.cursor  # psycopg's own cursor, on Django's connection and transaction
    with pg_cursor.copy(f"COPY {stage} ({column_list}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def _upsert(
    cursor: CursorWrapper, spec: Kind, location_id: int, rows: Sequence[Row]
) -> tuple[int, int, int]:
    """Returns (inserted, updated, stale)."""
    columns = spec.db_columns
    stage = f"_mirror_stage_{spec.name}"
    target, tomb, s = _q(spec.table), _q(MirrorTombstone._meta.db_table), _q(stage)
    loc, ghl_id, changed, synced = _q("location_id"), _q("ghl_id"), _q(columns[1]), _q("synced_at")
    kind_col = _q("kind")
    selected = ", ".join(_q(c) for c in columns)
    # JSON arrives as text (already encoded by the mapping) and becomes jsonb on insert.
    staged = ", ".join(
        f"{_q(c)}::text AS {_q(c)}" if c in spec.json_columns else _q(c) for c in columns
    )
    values = ", ".join(
        f"s.{_q(c)}::jsonb" if c in spec.json_columns else f"s.{_q(c)}" for c in columns
    )
    # In id order, so that writers of overlapping batches take row locks in the same order.
    ordered = sorted(rows, key=itemgetter(0))
    staged_columns = ("location_id", *columns)
    params: dict[str, Any] = {"kind": spec.name}
    if len(ordered) <= INLINE_ROWS:
        source, inline = _inline_source(cursor, spec, staged_columns, location_id, ordered)
        params.update(inline)
    else:
        _stage(
            cursor,
            stage,
            f"ON COMMIT DROP AS SELECT {loc}, {staged} FROM {target} WITH NO DATA",  # noqa: S608
            staged_columns,
            ((location_id, *row) for row in ordered),
        )
        source = f"{s} s"
    # Outbound webhooks: one outbox row per changed record that an endpoint wants, in this
    # same statement (so in the same transaction as the change, and set-based).
    published, event_params = mirror_events_sql(
        kind=spec.name, location_id=location_id, source=source
    )
    params.update(event_params)
    returned = (
        "m.*, (m.xmax = 0) AS inserted"
        if published
        else (f"m.{loc}, m.{ghl_id}, (m.xmax = 0) AS inserted")
    )
    compared = columns[1:]  # the change time too: a newer time with the same data is news
    stored = ", ".join(f"m.{_q(c)}" for c in compared)
    incoming = ", ".join(f"EXCLUDED.{_q(c)}" for c in compared)
    assignments = ", ".join(f"{_q(c)} = EXCLUDED.{_q(c)}" for c in (*compared, "synced_at"))
    write = f"""
        WITH written AS (
            INSERT INTO {target} AS m ({loc}, {synced}, {selected})
            SELECT s.{loc}, statement_timestamp(), {values}
            FROM {source}
            WHERE NOT EXISTS (
                SELECT 1 FROM {tomb} t
                WHERE t.{loc} = s.{loc} AND t.{kind_col} = %(kind)s AND t.{ghl_id} = s.{ghl_id}
                  AND (s.{changed} IS NULL OR t.{changed} >= s.{changed})
            )
            ON CONFLICT ({loc}, {ghl_id}) DO UPDATE SET {assignments}
            WHERE (m.{changed} IS NULL OR m.{changed} <= EXCLUDED.{changed})
              AND ({stored}) IS DISTINCT FROM ({incoming})
            RETURNING {returned}
        ), restored AS (
            DELETE FROM {tomb} t USING written w
            WHERE t.{loc} = w.{loc} AND t.{kind_col} = %(kind)s AND t.{ghl_id} = w.{ghl_id}
        ){published}
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted),
               {"(SELECT count(*) FROM published)" if published else "0"}
        FROM written
    """  # noqa: S608 — identifiers from the models, values bound
    # What was not written is stale or unchanged. Written rows now carry the staged change time
    # and no tombstone, so "stored newer, or tombstone at least as new" picks out the stale.
    classify = f"""
        SELECT count(*) FROM {source}
        LEFT JOIN {target} m ON m.{loc} = s.{loc} AND m.{ghl_id} = s.{ghl_id}
        LEFT JOIN {tomb} t
          ON t.{loc} = s.{loc} AND t.{kind_col} = %(kind)s AND t.{ghl_id} = s.{ghl_id}
        WHERE (t.{changed} IS NOT NULL AND (s.{changed} IS NULL OR t.{changed} >= s.{changed}))
           OR (m.{changed} IS NOT NULL AND (s.{changed} IS NULL OR m.{changed} > s.{changed}))
    """  # noqa: S608 — identifiers from the models, values bound
    cursor.execute(write, params)
    inserted, updated, events = cursor.fetchone()
    if events:
        events_announce()
    stale = 0
    if inserted + updated < len(rows):
        cursor.execute(classify, params)
        (stale,) = cursor.fetchone()
    return int(inserted), int(updated), int(stale)


def _inline_source(
    cursor: CursorWrapper,
    spec: Kind,
    columns: Sequence[str],
    location_id: int,
    rows: Sequence[Row],
) -> tuple[str, dict[str, Any]]:
    """`(VALUES …) AS s(…)` standing in for the staging table: the same columns, each value cast
    to the staging column's type (JSON as text, as COPY stages it)."""
    types = _types_of(cursor, spec.table)
    casts = ["text" if c in spec.json_columns else types[c] for c in columns]
    params: dict[str, Any] = {}
    tuples = []
    for r, row in enumerate(rows):
        cells = []
        for c, (value, cast) in enumerate(zip((location_id, *row), casts, strict=True)):
            params[f"v{r}_{c}"] = value
            cells.append(f"%(v{r}_{c})s::{cast}")
        tuples.append(f"({', '.join(cells)})")
    names = ", ".join(_q(c) for c in columns)
    return f"(VALUES {', '.join(tuples)}) AS s({names})", params


def _types_of(cursor: CursorWrapper, table: str) -> dict[str, str]:
    """Column → SQL type of a mirror table (read once per process: only migrations change it)."""
    if table not in _column_types:
        cursor.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            [table],
        )
        _column_types[table] = dict(cursor.fetchall())
    return _column_types[table]


def _delete(
    cursor: CursorWrapper,
    spec: Kind,
    location_id: int,
    gone: Sequence[tuple[str, datetime]],
    *,
    unless_newer: bool,
) -> tuple[int, int]:
    """Remove rows (with `unless_newer`, only those not changed after their deletion) and upsert
    tombstones; returns (removed, kept because the stored row is newer)."""
    target, tomb, d = _q(spec.table), _q(MirrorTombstone._meta.db_table), _q(_DELETIONS_STAGE)
    loc, ghl_id, changed = _q("location_id"), _q("ghl_id"), _q("ghl_updated_at")
    kind_col, synced = _q("kind"), _q("synced_at")
    _stage(
        cursor,
        _DELETIONS_STAGE,
        f"ON COMMIT DROP AS SELECT {loc}, {ghl_id}, {changed} AS deleted_at "  # noqa: S608
        f"FROM {target} WITH NO DATA",
        ("location_id", "ghl_id", "deleted_at"),
        ((location_id, ghl_id, at) for ghl_id, at in sorted(gone)),
    )
    newer = f"m.{changed} > d.deleted_at" if unless_newer else "false"
    sql = f"""
        WITH removed AS (
            DELETE FROM {target} m USING {d} d
            WHERE m.{loc} = d.{loc} AND m.{ghl_id} = d.{ghl_id} AND NOT coalesce({newer}, false)
            RETURNING m.{ghl_id}
        ), refused AS (
            SELECT count(*) AS n FROM {d} d
            JOIN {target} m ON m.{loc} = d.{loc} AND m.{ghl_id} = d.{ghl_id}
            WHERE {newer}
        ), tombstones AS (
            INSERT INTO {tomb} AS t ({loc}, {kind_col}, {ghl_id}, {changed}, {synced})
            SELECT d.{loc}, %(kind)s, d.{ghl_id}, d.deleted_at, statement_timestamp()
            FROM {d} d
            ON CONFLICT ({loc}, {kind_col}, {ghl_id}) DO UPDATE
              SET {changed} = EXCLUDED.{changed}, {synced} = EXCLUDED.{synced}
              WHERE t.{changed} IS NULL OR t.{changed} < EXCLUDED.{changed}
        )
        SELECT (SELECT count(*) FROM removed), (SELECT n FROM refused)
    """  # noqa: S608 — identifiers from the models, values bound
    cursor.execute(sql, {"kind": spec.name})
    removed, refused = cursor.fetchone()
    return int(removed), int(refused)
