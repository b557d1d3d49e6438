"""Running a sync: a full backfill when a location installs, an incremental pass on a schedule,
and a reconciliation that finds what webhooks missed.

A run reads its entities page by page through the GHL client at bulk priority. Each page's rows
are written set-based together with the next cursor and the run's progress, in one transaction,
so a killed worker resumes at the next page (the task is acknowledged late and redelivered) and
the admin shows live progress. A reconciliation also deletes mirror rows GHL no longer lists.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, connections, transaction
from django.utils import timezone

from integrations.ghl import vault
from integrations.ghl.calllog import CallRecorder
from integrations.ghl.client import GhlClient
from integrations.ghl.errors import GhlError
from integrations.ghl.governor import Priority
from integrations.ghl.models import GhlInstallation
from integrations.mirror import models as mirror_models
from integrations.mirror.writer import mirror_delete, mirror_upsert
from integrations.webhooks_out.catalog import SYNC_COMPLETED, SYNC_FAILED
from integrations.webhooks_out.payloads import sync_run_data
from saas_platform.kernel.errors import ApplicationError
from saas_platform.kernel.locks import session_lock
from saas_platform.kernel.logging import get_logger
from tenants.events import event_publish
from tenants.models import Location

from .entities import ENTITIES, PLANS, Entity, FetchContext
from .models import LocationSync, SyncCursor, SyncRun, SyncSeen

log = get_logger(__name__)

ACTIVE = (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING)
RUN_LOCK_NAMESPACE = 0x5A1C  # pg advisory locks: (namespace, sync run id), held while running
# A run writes its progress with every page; one silent this long has lost its worker.
STALL_AFTER = timedelta(minutes=3)
MIRROR_TABLES: dict[str, Any] = {
    "user": mirror_models.MirrorUser,
    "pipeline": mirror_models.MirrorPipeline,
    "contact": mirror_models.MirrorContact,
    "opportunity": mirror_models.MirrorOpportunity,
    "appointment": mirror_models.MirrorAppointment,
    "conversation": mirror_models.MirrorConversation,
}

Progress = Callable[[SyncRun], None]


class SyncCancelled(Exception):
    pass


def location_installation(location: Location) -> GhlInstallation | None:
    found: GhlInstallation | None = (
        GhlInstallation.objects.for_agency(location.agency)
        .filter(location=location, status=GhlInstallation.Status.HEALTHY)
        .select_related("location", "agency")
        .first()
    )
    return found


def locations_installations(locations: Sequence[Location]) -> dict[int, GhlInstallation]:
    """`location_installation` for several locations in one query: {location id: its
    connection}, connected locations only."""
    by_id = {location.pk: location for location in locations}
    found: dict[int, GhlInstallation] = {}
    rows = GhlInstallation.objects.unscoped().filter(
        location_id__in=list(by_id), status=GhlInstallation.Status.HEALTHY
    )
    for row in rows:
        location = by_id[row.location_id] if row.location_id is not None else None
        # The agency check `for_agency` makes in `location_installation`.
        if location is not None and row.agency_id == location.agency_id:
            # The caller's objects rather than joins (cheaper to compose than select_related).
            row.location, row.agency = location, location.agency
            found.setdefault(location.pk, row)
    return found


@transaction.atomic
def sync_run_start(
    *, location: Location, kind: str, countdown: float = 0, enqueue: bool = True
) -> SyncRun:
    """Queue a run (or return the one of that kind already queued or running). `enqueue=False`:
    the caller executes it itself (the `sync_location` command)."""
    if kind not in PLANS:
        raise ApplicationError(f"Unknown sync kind {kind!r}; use one of {', '.join(PLANS)}.")
    LocationSync.objects.get_or_create(location=location)
    existing: SyncRun | None = (
        SyncRun.objects.for_location(location).filter(kind=kind, status__in=ACTIVE).first()
    )
    if existing is not None:
        return existing
    run: SyncRun = SyncRun.objects.create(location=location, kind=kind)
    if kind == SyncRun.Kind.BACKFILL:  # a backfill starts over
        SyncCursor.objects.for_location(location).filter(mode=kind).delete()
    from integrations.tasks import sync_run_execute

    if enqueue:
        transaction.on_commit(lambda: sync_run_execute.apply_async((run.pk,), countdown=countdown))
    return run


def sync_runs_cancel(*, location: Location, reason: str) -> int:
    """Stop the location's queued and running runs (its installation went away)."""
    cancelled: int = (
        SyncRun.objects.for_location(location)
        .filter(status__in=ACTIVE)
        .update(status=SyncRun.Status.CANCELLED, error=reason, finished_at=timezone.now())
    )
    return cancelled


def _claim(run_pk: int) -> SyncRun | None:
    with transaction.atomic():
        run: SyncRun | None = (
            SyncRun.objects.unscoped()
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("location", "location__agency")
            .filter(pk=run_pk, status__in=ACTIVE)
            .first()
        )
        if run is None:
            return None
        run.status = SyncRun.Status.RUNNING
        run.started_at = run.started_at or timezone.now()
        run.save(update_fields=["status", "started_at", "updated_at"])
    return run


def sync_run_execute(*, run_pk: int, progress: Progress | None = None) -> SyncRun | None:
    """Do (or resume) one run. Returns the finished run, or None if it is not runnable or a live
    worker is running it already (a redelivered or re-queued task then does nothing)."""
    with session_lock(RUN_LOCK_NAMESPACE, run_pk) as mine:
        if not mine:
            log.info("sync.run.busy", run_id=run_pk)
            return None
        return _execute(run_pk, progress)


def sync_runs_stalled_requeue(*, idle: timedelta = STALL_AFTER) -> int:
    """Queue again every running run that has shown no progress for `idle`: its worker died.
    Runs still in a live worker's hands skip the extra task (`sync_run_execute` finds their
    lock taken), so this may err on the eager side. Without it a killed run would wait for the
    broker's visibility timeout (an hour in production). Queued runs are left alone: some wait
    on purpose (reconciliations are spread over the night with a countdown)."""
    from integrations.tasks import sync_run_execute as task

    stalled = list(
        SyncRun.objects.unscoped()
        .filter(status=SyncRun.Status.RUNNING, updated_at__lt=timezone.now() - idle)
        .values_list("pk", flat=True)
    )
    for run_pk in stalled:
        task.delay(run_pk)
    return len(stalled)


def _execute(run_pk: int, progress: Progress | None) -> SyncRun | None:
    run = _claim(run_pk)
    if run is None:
        return None
    location = run.location
    installation = location_installation(location)
    try:
        if installation is None or not location.ghl_location_id:
            raise ApplicationError("The location is not connected to GHL.")
        calls_before = run.requests  # a resumed run keeps counting from where it stopped
        # Pages are read on a helper thread: the token is fetched here first, and the call
        # records are written here, with each page, so all database work stays on this thread.
        vault.access_token(installation.pk)
        client = GhlClient(
            installation, priority=Priority.BULK, flush_every=CallRecorder.MANUAL_FLUSH
        )
        with client:
            for name in PLANS[run.kind]:
                _sync_entity(run, client, name, progress, calls_before)
    except SyncCancelled:
        log.info("sync.run.cancelled", run_id=run.pk, location_id=location.pk)
        return run
    except (GhlError, ApplicationError) as exc:
        _finish(run, SyncRun.Status.FAILED, error=str(exc))
        log.warning("sync.run.failed", run_id=run.pk, location_id=location.pk, error=str(exc))
        return run
    _finish(run, SyncRun.Status.SUCCEEDED)
    return run


def _sync_entity(
    run: SyncRun, client: GhlClient, name: str, progress: Progress | None, calls_before: int
) -> None:
    entity = ENTITIES[name]
    location = run.location
    mode = run.kind
    state, _ = SyncCursor.objects.for_location(location).get_or_create(
        location=location, entity=name, mode=mode
    )
    if state.done and mode != SyncRun.Kind.INCREMENTAL:
        return  # finished before a restart
    since = _since(location) if mode == SyncRun.Kind.INCREMENTAL else None
    context = FetchContext(client=client, location_id=str(location.ghl_location_id), since=since)
    run.entity = name
    # The next page is read while this one is written: the pass takes about as long as the
    # slower of the two, not their sum. (A page read ahead and never written is simply read
    # again after a restart: the cursor moves only with a commit.)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-read-ahead") as reader:
        ahead = reader.submit(_timed_fetch, entity, context, state.cursor)
        try:
            _pages(run, entity, state, context, reader, ahead, progress, calls_before)
        finally:
            reader.submit(connections.close_all)  # the reader thread's own connection
    if mode == SyncRun.Kind.INCREMENTAL:  # the next pass starts afresh from the watermark
        SyncCursor.objects.for_location(location).filter(pk=state.pk).update(cursor={}, done=False)


def _timed_fetch(
    entity: Entity, context: FetchContext, cursor: dict[str, Any]
) -> tuple[Any, float, datetime]:
    """A page, how long it took, and when it was asked for: records without a change time of
    their own (users, pipelines) are as new as that moment."""
    asked_at = timezone.now()
    started = time.monotonic()
    page = entity.fetch(context, cursor)
    return page, time.monotonic() - started, asked_at


def _pages(
    run: SyncRun,
    entity: Entity,
    state: SyncCursor,
    context: FetchContext,
    reader: ThreadPoolExecutor,
    ahead: Future[tuple[Any, float, datetime]],
    progress: Progress | None,
    calls_before: int,
) -> None:
    location, mode, name, client = run.location, run.kind, entity.name, context.client
    while True:
        page, fetch_seconds, asked_at = ahead.result()
        if page.next_cursor is not None:
            ahead = reader.submit(_timed_fetch, entity, context, page.next_cursor)
        writing = time.monotonic()
        with transaction.atomic():
            _check_not_cancelled(run)
            result = mirror_upsert(
                location_id=location.pk,
                kind=entity.kind,
                records=page.records,
                changed_at=asked_at,
            )
            if mode == SyncRun.Kind.RECONCILE:
                _remember_seen(run, entity.kind, page.records)
            state.cursor = page.next_cursor or {}
            state.done = page.next_cursor is None
            state.watermark = _watermark(run, state.watermark, page.records)
            state.updated_at = timezone.now()
            state.save()
            client.recorder.flush()
            removed = 0
            if state.done and mode == SyncRun.Kind.RECONCILE and entity.complete_listing:
                removed = _remove_unlisted(run, location, entity.kind)
            calls = calls_before + client.recorder.count
            timing = (fetch_seconds, time.monotonic() - writing)
            _count(run, name, page.total, len(page.records), result, removed, calls, timing)
        if progress is not None:
            progress(run)
        if state.done:
            return


def _watermark(
    run: SyncRun, current: datetime | None, records: list[dict[str, Any]]
) -> datetime | None:
    """Where the next incremental pass starts. After a backfill: when the backfill started (a
    contact changed while it ran may sit on a page read before the change). After an
    incremental pass: the newest change it read (it reads in change order)."""
    if run.kind == SyncRun.Kind.BACKFILL:
        return run.started_at
    newest = _newest(records)
    if newest is None:
        return current
    return newest if current is None or newest > current else current


def _remember_seen(run: SyncRun, kind: str, records: list[dict[str, Any]]) -> None:
    ids = [str(r["id"]) for r in records if r.get("id")]
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO integrations_syncseen (run_id, kind, ghl_id) "
            "SELECT %s, %s, unnest(%s::text[]) ON CONFLICT DO NOTHING",
            [run.pk, kind, ids],
        )


def _since(location: Location) -> datetime | None:
    """The incremental pass starts at the newest change any earlier pass or backfill saw."""
    marks = SyncCursor.objects.for_location(location).filter(
        entity="contacts", watermark__isnull=False
    )
    newest: datetime | None = max((c.watermark for c in marks if c.watermark), default=None)
    return newest


def _newest(records: list[dict[str, Any]]) -> datetime | None:
    stamps = [r.get("dateUpdated") or r.get("updatedAt") or r.get("dateAdded") for r in records]
    parsed = [_parse(s) for s in stamps if isinstance(s, str)]
    return max((p for p in parsed if p is not None), default=None)


def _parse(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _check_not_cancelled(run: SyncRun) -> None:
    status = SyncRun.objects.unscoped().filter(pk=run.pk).values_list("status", flat=True).first()
    if status == SyncRun.Status.CANCELLED:
        raise SyncCancelled


def _remove_unlisted(run: SyncRun, location: Location, kind: str) -> int:
    """Delete (with tombstones) what the mirror holds but this reconciliation did not read."""
    table = MIRROR_TABLES[kind]._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT m.ghl_id FROM {table} m WHERE m.location_id = %s AND NOT EXISTS ("  # noqa: S608
            "SELECT 1 FROM integrations_syncseen s "
            "WHERE s.run_id = %s AND s.kind = %s AND s.ghl_id = m.ghl_id)",
            [location.pk, run.pk, kind],
        )
        missing = [row[0] for row in cursor.fetchall()]
    if not missing:
        return 0
    removed: int = mirror_delete(
        location_id=location.pk, kind=kind, ghl_ids=missing, deleted_at=timezone.now()
    )
    return removed


def _count(
    run: SyncRun,
    name: str,
    total: int | None,
    rows: int,
    result: Any,
    removed: int,
    calls: int,
    timing: tuple[float, float],
) -> None:
    """Progress and where the time goes (reading GHL vs writing the mirror), per entity."""
    entity = run.details.get(name) or {
        "rows": 0,
        "inserted": 0,
        "updated": 0,
        "deleted": 0,
        "fetch_seconds": 0.0,
        "write_seconds": 0.0,
    }
    entity["rows"] += rows
    entity["fetch_seconds"] = round(entity["fetch_seconds"] + timing[0], 3)
    entity["write_seconds"] = round(entity["write_seconds"] + timing[1], 3)
    entity["inserted"] += result.inserted
    entity["updated"] += result.updated
    entity["deleted"] += removed
    if total is not None:
        entity["total"] = int(total)
    run.details[name] = entity
    run.pages += 1
    run.rows += rows
    run.requests = calls
    run.total_estimate = sum(int(e.get("total") or e["rows"]) for e in run.details.values())
    run.save(
        update_fields=[
            "entity", "pages", "rows", "requests", "total_estimate", "details", "updated_at"
        ]
    )  # fmt: skip


def _finish(run: SyncRun, status: str, *, error: str = "") -> None:
    now = timezone.now()
    with transaction.atomic():
        updated = (
            SyncRun.objects.unscoped()
            .filter(pk=run.pk, status=SyncRun.Status.RUNNING)
            .update(status=status, finished_at=now, error=error[:4000], updated_at=now)
        )
        if not updated:
            return
        run.status, run.finished_at, run.error = status, now, error[:4000]
        event_publish(
            location=run.location_id,
            event_type=SYNC_COMPLETED if status == SyncRun.Status.SUCCEEDED else SYNC_FAILED,
            data=sync_run_data(run),
        )
    if status == SyncRun.Status.SUCCEEDED:
        stamp = {
            SyncRun.Kind.BACKFILL: "last_backfill_at",
            SyncRun.Kind.INCREMENTAL: "last_incremental_at",
            SyncRun.Kind.RECONCILE: "last_reconcile_at",
        }[SyncRun.Kind(run.kind)]
        LocationSync.objects.for_location(run.location).update(**{stamp: now})
        if run.kind == SyncRun.Kind.RECONCILE:  # the next reconciliation reads everything again
            SyncCursor.objects.for_location(run.location).filter(mode=run.kind).delete()
            SyncSeen.objects.filter(run=run).delete()
    log.info("sync.run.finished", run_id=run.pk, status=status, rows=run.rows, pages=run.pages)
