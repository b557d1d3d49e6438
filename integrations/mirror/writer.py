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

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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
_casts: dict[str, tuple[str, ...]] = {}


@dataclass(frozen=True)
class WriteResult:
    inserted: int
    updated: int
    unchanged: int
    stale: int  # older than the stored row or its tombstone, or superseded within the batch
    deleted: int  # records GHL marks `deleted: true`, applied as deletions
    # The GHL ids among `inserted` (what is new to the mirror, e.g. a lead).
    inserted_ids: frozenset[str] = field(default=frozenset(), compare=False)

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
    changed_at: datetime | Sequence[datetime | None] | None = None,
) -> WriteResult:
    """Write GHL records of one kind into one location's mirror.

    `changed_at` is the change time of records that carry none of their own (a webhook's event
    timestamp), one for all or one per record. Raises `InvalidRecordsError` (nothing written)
    when any record cannot be mapped, `LookupError` for an unknown location. Every record
    lands in exactly one count.
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
    inserted_ids: frozenset[str] = frozenset()
    touched = [row[0] for row in upserts] + [ghl_id for ghl_id, _at in deletions]
    with transaction.atomic(), connection.cursor() as cursor:
        mirror_writing.send(Location, location_id=location_id, kind=spec.name, ghl_ids=touched)
        if upserts:
            inserted, updated, stale, inserted_ids = _upsert(cursor, spec, location_id, upserts)
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
        inserted_ids=inserted_ids,
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
) -> tuple[int, int, int, frozenset[str]]:
    """Returns (inserted, updated, stale, the ids inserted)."""
    # In id order, so that writers of overlapping batches take row locks in the same order.
    ordered = sorted(rows, key=itemgetter(0))
    params: dict[str, Any] = {"kind": spec.name}
    if len(ordered) <= INLINE_ROWS:
        casts = _inline_casts(cursor, spec)
        source = _inline_source(spec.name, len(ordered), casts)
        for r, row in enumerate(ordered):
            params[f"v{r}_0"] = location_id
            params.update(zip(_cell_names(r, len(casts)), row, strict=True))
    else:
        _stage(
            cursor,
            f"_mirror_stage_{spec.name}",
            _stage_ddl(spec.name),
            ("location_id", *spec.db_columns),
            ((location_id, *row) for row in ordered),
        )
        source = f"{_q(f'_mirror_stage_{spec.name}')} s"
    # Outbound webhooks: one outbox row per changed record that an endpoint wants, in this
    # same statement (so in the same transaction as the change, and set-based).
    published, event_params = mirror_events_sql(
        kind=spec.name, location_id=location_id, source=source
    )
    params.update(event_params)
    write, classify = _upsert_sql(spec.name, source, published)
    cursor.execute(write, params)
    inserted, updated, events, new_ids = cursor.fetchone()
    if events:
        events_announce()
    stale = 0
    if inserted + updated < len(rows):
        cursor.execute(classify, params)
        (stale,) = cursor.fetchone()
    return int(inserted), int(updated), int(stale), frozenset(new_ids)


# The statements' text depends only on the kind, the source of the rows (a staging table or an
# inline VALUES list of n rows) and the outbox part: composed once per process, not per write
# (composing them was a good part of a webhook's CPU), and the driver's parse cache hits.


@functools.lru_cache(maxsize=64)
def _stage_ddl(kind: str) -> str:
    spec = kind_of(kind)
    # JSON arrives as text (already encoded by the mapping) and becomes jsonb on insert.
    staged = ", ".join(
        f"{_q(c)}::text AS {_q(c)}" if c in spec.json_columns else _q(c) for c in spec.db_columns
    )
    table = _q(spec.table)
    return f"ON COMMIT DROP AS SELECT {_q('location_id')}, {staged} FROM {table} WITH NO DATA"  # noqa: S608


@functools.lru_cache(maxsize=1024)
def _upsert_sql(kind: str, source: str, published: str) -> tuple[str, str]:
    """(the write, the classification of what it did not write)."""
    spec = kind_of(kind)
    columns = spec.db_columns
    target, tomb = _q(spec.table), _q(MirrorTombstone._meta.db_table)
    loc, ghl_id, changed, synced = _q("location_id"), _q("ghl_id"), _q(columns[1]), _q("synced_at")
    kind_col = _q("kind")
    selected = ", ".join(_q(c) for c in columns)
    values = ", ".join(
        f"s.{_q(c)}::jsonb" if c in spec.json_columns else f"s.{_q(c)}" for c in columns
    )
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
               {"(SELECT count(*) FROM published)" if published else "0"},
               coalesce(array_agg({ghl_id}) FILTER (WHERE inserted), '{{}}')
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
    return write, classify


def _inline_casts(cursor: CursorWrapper, spec: Kind) -> tuple[str, ...]:
    """The SQL type of each staged column (JSON as text, as COPY stages it); per process."""
    casts = _casts.get(spec.name)
    if casts is None:
        types, json_columns = _types_of(cursor, spec.table), spec.json_columns
        casts = _casts[spec.name] = tuple(
            "text" if c in json_columns else types[c] for c in ("location_id", *spec.db_columns)
        )
    return casts


@functools.lru_cache(maxsize=64)
def _cell_names(row: int, width: int) -> tuple[str, ...]:
    """The parameter names of a row's data cells (cell 0 is the location)."""
    return tuple(f"v{row}_{c}" for c in range(1, width))


@functools.lru_cache(maxsize=512)
def _inline_source(kind: str, count: int, casts: tuple[str, ...]) -> str:
    """`(VALUES …) AS s(…)` standing in for the staging table: the same columns, each value cast
    to the staging column's type."""
    tuples = (
        "(" + ", ".join(f"%(v{r}_{c})s::{cast}" for c, cast in enumerate(casts)) + ")"
        for r in range(count)
    )
    names = ", ".join(_q(c) for c in ("location_id", *kind_of(kind).db_columns))
    return f"(VALUES {', '.join(tuples)}) AS s({names})"


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
