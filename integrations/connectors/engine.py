"""One run of a two-way contact sync between a location's GHL contacts and an external system.

The GHL side is read from the mirror (kept fresh by webhooks and the GHL sync) and written
through the GHL API (governed, bulk priority), the mirror updated from GHL's answer. The
external side is read with `changes(cursor)` and written with `upsert` / `delete`.

Each linked pair is compared field by field against the link's *snapshot* (the value both sides
last agreed on): the side that differs from the snapshot changed the field; when both did, the
field's policy decides (GHL wins, external wins, newest wins, or ask a person). Every value
written is logged as a `FieldOverwrite`, and the snapshot becomes the written value, so the
change read back from either side next time equals the snapshot and is not written again (no
echo). Links and snapshots are saved after each chunk's writes succeed: a run that dies resumes
with what is left, and rewriting a value already written is harmless.

External rows without a link are paired with a GHL contact by the `match_on` field (e-mail by
default) or created in GHL; GHL contacts without a link are created in the external system. A
contact deleted in GHL is deleted externally; a row deleted externally is only unlinked (GHL
data is never deleted by an external system)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from integrations.ghl import operations as ops
from integrations.ghl.client import GhlClient
from integrations.ghl.errors import GhlError, GhlValidationError
from integrations.ghl.governor import Priority
from integrations.mirror.models import MirrorContact, MirrorTombstone
from integrations.mirror.writer import mirror_upsert
from integrations.sync.engine import location_installation
from saas_platform.kernel.locks import session_lock
from saas_platform.kernel.logging import get_logger
from tenants.entitlements import location_access

from . import kinds  # noqa: F401 — registers every connector kind
from .base import Connector as ConnectorBase
from .base import (
    ConnectorError,
    ConnectorSettings,
    ExternalRecord,
    OutboundRecord,
    connector_class,
)
from .fields import FieldMap, external_fields, external_value, ghl_payload, ghl_value, parse_mapping
from .models import (
    Direction,
    ExternalConnection,
    ExternalLink,
    ExternalSyncRun,
    FieldOverwrite,
    Policy,
    SyncConflict,
)

log = get_logger(__name__)

CHUNK = 200
RUN_COUNTERS = (
    "phase",
    "done",
    "total",
    "pulled",
    "to_ghl",
    "to_external",
    "created_in_ghl",
    "created_external",
    "deleted_external",
    "conflicts",
)
LOCK_NAMESPACE = 0x5C0E  # pg advisory locks: (namespace, connection id)


class SyncAborted(Exception):
    """The run cannot go on (no GHL connection, a connector failure): nothing more is written."""


def build_connector(connection: ExternalConnection) -> ConnectorBase:
    mapping = parse_mapping(connection.mapping)
    cls = connector_class(connection.kind)
    settings = ConnectorSettings(
        config=connection.config,
        credentials=connection.secrets,
        fields=[m.external for m in mapping],
    )
    return cls(settings)


def _run_lock(connection_pk: int) -> AbstractContextManager[bool]:
    """One run per connection at a time, across workers; released if the worker dies."""
    return session_lock(LOCK_NAMESPACE, connection_pk)


@dataclass
class _Pair:
    link: ExternalLink
    contact: MirrorContact
    record: ExternalRecord | None  # None: the row was not read this run (unchanged)


@dataclass
class _Writes:
    to_ghl: dict[str, dict[str, str]] = field(default_factory=dict)  # ghl id → changed values
    to_external: dict[str, dict[str, str]] = field(default_factory=dict)  # key → merged values
    overwrites: list[FieldOverwrite] = field(default_factory=list)
    snapshots: dict[int, dict[str, str]] = field(default_factory=dict)  # link pk → snapshot
    conflicts: list[tuple[ExternalLink, FieldMap, str, str]] = field(default_factory=list)


class ContactSync:
    def __init__(
        self,
        connection: ExternalConnection,
        run: ExternalSyncRun,
        connector: ConnectorBase,
        ghl: GhlClient,
        *,
        progress: Callable[[ExternalSyncRun], None] | None = None,
    ) -> None:
        self.connection, self.run, self.connector, self.ghl = connection, run, connector, ghl
        self.location = connection.location
        self.mapping = parse_mapping(connection.mapping)
        self.direction = connection.direction
        self.progress = progress
        self.errors: list[str] = []

    # --- reading -------------------------------------------------------------------------------

    def _phase(self, phase: str, *, total: int | None = None) -> None:
        self.run.phase = phase
        if total is not None:
            self.run.total, self.run.done = total, 0
        self._save_run()

    def _save_run(self) -> None:
        ExternalSyncRun.objects.for_location(self.location).filter(pk=self.run.pk).update(
            **{name: getattr(self.run, name) for name in RUN_COUNTERS}
        )
        if self.progress:
            self.progress(self.run)

    def _pull(self) -> tuple[dict[str, ExternalRecord], set[str], str | None]:
        self._phase("reading the external system")
        records: dict[str, ExternalRecord] = {}
        deleted: set[str] = set()
        cursor = self.connection.external_cursor or None
        while True:
            page = self.connector.changes(cursor, limit=500)
            for record in page.records:
                records[record.key] = record
            deleted.update(page.deleted)
            cursor = page.cursor
            self.run.pulled += len(page.records)
            self._save_run()
            if not page.more:
                return records, deleted, cursor

    def _links(self) -> QuerySet[ExternalLink]:
        return ExternalLink.objects.for_location(self.location).filter(connection=self.connection)

    def _contacts(self, **filters: Any) -> QuerySet[MirrorContact]:
        return MirrorContact.objects.for_location(self.location).filter(**filters)

    # --- deciding ------------------------------------------------------------------------------

    def _decide(self, pair: _Pair, writes: _Writes) -> None:
        link, contact, record = pair.link, pair.contact, pair.record
        snapshot = dict(link.snapshot)
        pending: dict[str, str] = link.pending or {}
        merged: dict[str, str] = {}
        to_ghl: dict[str, str] = {}
        to_external = False
        for m in self.mapping:
            before = snapshot.get(m.ghl)
            g = ghl_value(contact, m.ghl)
            e = external_value(m.ghl, record.fields.get(m.external)) if record else before
            if e is None:  # never agreed and the row was not read this run: take GHL's
                e = g
            if m.ghl in pending:  # a person settled a conflict: their value goes both ways
                value, reason = pending[m.ghl], "resolved by a person"
            elif g == e:
                merged[m.ghl] = g
                continue
            else:
                settled, reason = self._settle(m, g, e, before, contact, record)
                if settled is None:
                    writes.conflicts.append((link, m, g, e))
                    merged[m.ghl] = before if before is not None else g
                    continue
                value = settled
            merged[m.ghl] = value
            if value != g and self.direction != Direction.TO_EXTERNAL:
                to_ghl[m.ghl] = value
                writes.overwrites.append(self._overwrite(link, m, g, value, "ghl", reason))
            if value != e or m.ghl in pending:
                to_external = True
                if value != e:
                    writes.overwrites.append(self._overwrite(link, m, e, value, "external", reason))
        if to_ghl:
            writes.to_ghl[contact.ghl_id] = to_ghl
        if to_external and self.direction != Direction.FROM_EXTERNAL:
            writes.to_external[link.external_key] = merged
        writes.snapshots[link.pk] = merged

    def _settle(
        self,
        m: FieldMap,
        g: str,
        e: str,
        before: str | None,
        contact: MirrorContact,
        record: ExternalRecord | None,
    ) -> tuple[str | None, str]:
        """The value a differing field ends with, and why; (None, …) leaves it to a person."""
        if self.direction == Direction.TO_EXTERNAL:
            return g, "GHL is the source"
        if self.direction == Direction.FROM_EXTERNAL:
            return e, "the external system is the source"
        if before is not None and e == before:
            return g, "changed in GHL"
        if before is not None and g == before:
            return e, "changed externally"
        if m.policy == Policy.GHL_WINS:
            return g, "conflict: GHL wins"
        if m.policy == Policy.EXTERNAL_WINS:
            return e, "conflict: external wins"
        if m.policy == Policy.NEWEST_WINS:
            ghl_time, external_time = contact.ghl_updated_at, record.modified_at if record else None
            if external_time is not None and (ghl_time is None or external_time > ghl_time):
                return e, "conflict: newest (external)"
            return g, "conflict: newest (GHL)"
        return None, "conflict: ask"

    def _overwrite(
        self, link: ExternalLink, m: FieldMap, old: str, new: str, side: str, reason: str
    ) -> FieldOverwrite:
        return FieldOverwrite(
            location=self.location,
            connection=self.connection,
            run=self.run,
            ghl_id=link.ghl_id,
            external_key=link.external_key,
            field=m.ghl,
            old=old,
            new=new,
            side=side,
            reason=reason,
        )

    # --- writing -------------------------------------------------------------------------------

    def _write_ghl(self, ghl_id: str, values: dict[str, str]) -> bool:
        try:
            contact = self.ghl.run(
                ops.contact_update(contact_id=ghl_id, fields=ghl_payload(values))
            )
        except GhlValidationError as exc:
            self.errors.append(f"GHL refused contact {ghl_id}: {exc.message}")
            return False
        mirror_upsert(location_id=self.location.pk, kind="contact", records=[contact])
        self.run.to_ghl += 1
        return True

    def _apply(self, writes: _Writes, links: dict[int, ExternalLink]) -> None:
        failed: set[str] = set()
        for ghl_id, values in writes.to_ghl.items():
            if not self._write_ghl(ghl_id, values):
                failed.add(ghl_id)
        # A row is not written when GHL refused its contact's change: the pair stays as it was,
        # and the next run tries again.
        refused_keys = {link.external_key for link in links.values() if link.ghl_id in failed}
        outbound = [(k, v) for k, v in writes.to_external.items() if k not in refused_keys]
        for chunk in _chunks(outbound, self.connector.batch_size):
            self.connector.upsert(
                [OutboundRecord(key, external_fields(self.mapping, v)) for key, v in chunk]
            )
            self.run.to_external += len(chunk)
        now = timezone.now()
        with transaction.atomic():
            for pk, snapshot in writes.snapshots.items():
                if links[pk].ghl_id in failed:
                    continue
                ExternalLink.objects.for_location(self.location).filter(pk=pk).update(
                    snapshot=snapshot, pending={}, synced_at=now
                )
            FieldOverwrite.objects.bulk_create(
                [o for o in writes.overwrites if o.ghl_id not in failed]
            )
            for link, m, g, e in writes.conflicts:
                self._open_conflict(link, m, g, e)

    def _open_conflict(self, link: ExternalLink, m: FieldMap, g: str, e: str) -> None:
        existing = (
            SyncConflict.objects.for_location(self.location)
            .filter(link=link, field=m.ghl, status=SyncConflict.Status.OPEN)
            .first()
        )
        if existing is not None:
            if (existing.ghl_value, existing.external_value) != (g, e):
                existing.ghl_value, existing.external_value = g, e
                existing.save(update_fields=["ghl_value", "external_value"])
            return
        SyncConflict.objects.create(
            location=self.location,
            connection=self.connection,
            link=link,
            field=m.ghl,
            ghl_value=g,
            external_value=e,
        )
        self.run.conflicts += 1

    # --- creating and deleting -----------------------------------------------------------------

    def _create_external(self, contacts: Sequence[MirrorContact]) -> None:
        for chunk in _chunks(list(contacts), self.connector.batch_size):
            values = [{m.ghl: ghl_value(c, m.ghl) for m in self.mapping} for c in chunk]
            keys = self.connector.upsert(
                [OutboundRecord(None, external_fields(self.mapping, v)) for v in values]
            )
            ExternalLink.objects.bulk_create(
                [
                    ExternalLink(
                        location=self.location,
                        connection=self.connection,
                        ghl_id=c.ghl_id,
                        external_key=key,
                        snapshot=v,
                    )
                    for c, key, v in zip(chunk, keys, values, strict=True)
                ]
            )
            self.run.created_external += len(chunk)
            self.run.done += len(chunk)
            self._save_run()

    def _create_ghl(self, records: Sequence[ExternalRecord]) -> None:
        location_ghl_id = self.location.ghl_location_id or ""
        for record in records:
            values = {
                m.ghl: external_value(m.ghl, record.fields.get(m.external)) for m in self.mapping
            }
            try:
                contact = self.ghl.run(
                    ops.contact_create(location_id=location_ghl_id, fields=ghl_payload(values))
                )
            except GhlValidationError as exc:
                self.errors.append(f"Row {record.key}: GHL refused the contact: {exc.message}")
                continue
            mirror_upsert(location_id=self.location.pk, kind="contact", records=[contact])
            ExternalLink.objects.create(
                location=self.location,
                connection=self.connection,
                ghl_id=str(contact["id"]),
                external_key=record.key,
                snapshot=values,
            )
            self.run.created_in_ghl += 1
            self.run.done += 1
            if self.run.created_in_ghl % 50 == 0:
                self._save_run()

    def _match(self, records: Sequence[ExternalRecord], linked: set[str]) -> dict[str, str]:
        """External key → GHL id of an unlinked contact with the same `match_on` value."""
        match_on = self.connection.match_on
        m = next((m for m in self.mapping if m.ghl == match_on), None)
        if m is None or match_on.startswith("custom:"):
            return {}
        wanted: dict[str, str] = {}
        for record in records:
            value = external_value(match_on, record.fields.get(m.external))
            if value:
                wanted.setdefault(value.lower(), record.key)
        found: dict[str, str] = {}
        for chunk in _chunks(list(wanted), 1000):
            rows = (
                self._contacts()
                .annotate(match=Lower(match_on))
                .filter(match__in=chunk)
                .values_list("ghl_id", "match")
            )
            for ghl_id, value in rows:
                key = wanted.get(value)
                if key and ghl_id not in linked and key not in found:
                    found[key] = ghl_id
                    linked.add(ghl_id)
        return found

    # --- the run -------------------------------------------------------------------------------

    def execute(self) -> None:
        started = timezone.now()
        # Credentials, target and every mapped field, before anything is read or written.
        self._phase("checking the connection")
        self.connector.check()
        records, deleted_keys, external_cursor = self._pull()
        links = {
            link.pk: link
            for link in ExternalLink.objects.for_location(self.location).filter(
                connection=self.connection
            )
        }
        by_key = links_by_key(links)
        by_ghl = {link.ghl_id: link for link in links.values()}
        since = self.connection.ghl_cursor
        changed = self._contacts(ghl_updated_at__gt=since) if since else self._contacts()
        changed_ids = set(changed.values_list("ghl_id", flat=True))
        ghl_watermark = max(
            (t for t in changed.values_list("ghl_updated_at", flat=True) if t), default=since
        )

        # GHL deletions since the last run: delete the linked rows (never the other way round).
        gone = set(
            MirrorTombstone.objects.for_location(self.location)
            .filter(kind="contact", ghl_id__in=list(by_ghl))
            .values_list("ghl_id", flat=True)
        )
        if gone and self.direction != Direction.FROM_EXTERNAL:
            keys = [by_ghl[g].external_key for g in gone]
            for chunk in _chunks(keys, self.connector.batch_size):
                self.connector.delete(chunk)
            self.run.deleted_external += len(keys)
        self._links().filter(pk__in=[by_ghl[g].pk for g in gone]).delete()
        self._links().filter(pk__in=[by_key[k].pk for k in deleted_keys if k in by_key]).delete()
        for g in gone:
            links.pop(by_ghl.pop(g).pk, None)
        for k in deleted_keys:
            if (link := by_key.pop(k, None)) is not None:
                links.pop(link.pk, None)
                by_ghl.pop(link.ghl_id, None)

        # Pair new external rows with existing contacts, then list what to create.
        unlinked_records = [r for k, r in records.items() if k not in by_key]
        matched = self._match(unlinked_records, set(by_ghl))
        for key, ghl_id in matched.items():
            link = ExternalLink.objects.create(
                location=self.location,
                connection=self.connection,
                ghl_id=ghl_id,
                external_key=key,
                snapshot={},
            )
            links[link.pk], by_key[key], by_ghl[ghl_id] = link, link, link
        new_records = [r for r in unlinked_records if r.key not in matched]
        new_contacts = [c for c in changed if c.ghl_id not in by_ghl]

        # Linked pairs where something moved: either side changed, or a person settled a conflict.
        touched = {by_key[k].pk for k in records if k in by_key}
        touched |= {by_ghl[g].pk for g in changed_ids if g in by_ghl}
        touched |= {pk for pk, link in links.items() if link.pending}
        self._phase(
            "comparing and writing",
            total=len(touched)
            + len(new_contacts) * (self.direction != Direction.FROM_EXTERNAL)
            + len(new_records) * (self.direction != Direction.TO_EXTERNAL),
        )
        for chunk in _chunks(sorted(touched), CHUNK):
            chunk_links = {pk: links[pk] for pk in chunk}
            contacts = {
                c.ghl_id: c
                for c in self._contacts(ghl_id__in=[link.ghl_id for link in chunk_links.values()])
            }
            writes = _Writes()
            for link in chunk_links.values():
                contact = contacts.get(link.ghl_id)
                if contact is None:  # not mirrored (yet): the GHL sync will bring it
                    continue
                self._decide(_Pair(link, contact, records.get(link.external_key)), writes)
            self._apply(writes, chunk_links)
            self.run.done += len(chunk)
            self._save_run()

        if self.direction != Direction.FROM_EXTERNAL:
            self._create_external(new_contacts)
        if self.direction != Direction.TO_EXTERNAL:
            self._create_ghl(new_records)

        ExternalConnection.objects.for_location(self.location).filter(pk=self.connection.pk).update(
            ghl_cursor=ghl_watermark, external_cursor=external_cursor or "", last_run_at=started
        )
        self._save_run()


def links_by_key(links: dict[int, ExternalLink]) -> dict[str, ExternalLink]:
    return {link.external_key: link for link in links.values()}


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def connection_run(
    *,
    connection_pk: int,
    trigger: str = ExternalSyncRun.Trigger.SCHEDULE,
    progress: Callable[[ExternalSyncRun], None] | None = None,
) -> ExternalSyncRun | None:
    """Run one sync of the connection now; None when a run of it is already going on (or the
    connection is gone)."""
    connection = (
        ExternalConnection.objects.unscoped()
        .select_related("location", "location__agency")
        .filter(pk=connection_pk)
        .first()
    )
    if connection is None:  # deleted after its run was queued
        return None
    with _run_lock(connection.pk) as locked:
        if not locked:
            return None
        access = location_access(location=connection.location, feature="connectors")
        if not access.allowed:
            return _skip(connection, trigger, access.message)
        run = ExternalSyncRun.objects.create(
            location=connection.location, connection=connection, trigger=trigger
        )
        error = ""
        try:
            installation = location_installation(connection.location)
            if installation is None:
                raise SyncAborted(
                    "The location is not connected to GHL; reconnect it to sync its contacts."
                )
            with (
                build_connector(connection) as connector,
                GhlClient(installation, priority=Priority.BULK) as ghl,
            ):
                sync = ContactSync(connection, run, connector, ghl, progress=progress)
                sync.execute()
                error = "\n".join(sync.errors[:20])
        except (ConnectorError, SyncAborted, GhlError) as exc:
            _finish(run, connection, failed=True, error=_message(exc))
        except Exception as exc:
            log.exception("connectors.run_crashed", connection_id=connection.pk)
            _finish(run, connection, failed=True, error=f"Unexpected error: {type(exc).__name__}")
            raise
        else:
            _finish(run, connection, failed=False, error=error)
    run.refresh_from_db()
    return run


def _skip(connection: ExternalConnection, trigger: str, reason: str) -> ExternalSyncRun:
    """The plan does not allow syncing now: the run is recorded as skipped, with the reason, and
    counts as no failure (the connection is not paused for it, its schedule goes on). While the
    reason stays the same, the connection's last skipped run is brought up to date instead of a
    new row every interval (a paused plan would otherwise add ~100 rows a day per connection)."""
    now = timezone.now()
    log.info("connectors.run_skipped", connection_id=connection.pk, reason=reason)
    runs = ExternalSyncRun.objects.for_location(connection.location).filter(connection=connection)
    last: ExternalSyncRun | None = runs.order_by("-pk").first()
    if last is not None and last.status == ExternalSyncRun.Status.SKIPPED and last.error == reason:
        runs.filter(pk=last.pk).update(finished_at=now, trigger=trigger)
        last.finished_at, last.trigger = now, trigger
        return last
    return ExternalSyncRun.objects.create(
        location=connection.location,
        connection=connection,
        trigger=trigger,
        status=ExternalSyncRun.Status.SKIPPED,
        started_at=now,
        finished_at=now,
        error=reason,
    )


def _message(exc: Exception) -> str:
    return str(getattr(exc, "message", None) or exc)


PAUSE_AFTER = 5


def _finish(
    run: ExternalSyncRun, connection: ExternalConnection, *, failed: bool, error: str
) -> None:
    now = timezone.now()
    ExternalSyncRun.objects.for_location(connection.location).filter(pk=run.pk).update(
        status=ExternalSyncRun.Status.FAILED if failed else ExternalSyncRun.Status.SUCCEEDED,
        finished_at=now,
        error=error[:4000],
    )
    connection.refresh_from_db()
    connection.last_error = error[:4000] if failed else ""
    connection.consecutive_failures = connection.consecutive_failures + 1 if failed else 0
    connection.schedule_next(after=now)
    paused = (
        failed
        and connection.consecutive_failures >= PAUSE_AFTER
        and connection.status == ExternalConnection.Status.ACTIVE
    )
    if paused:
        connection.status = ExternalConnection.Status.PAUSED
    connection.save(
        update_fields=["last_error", "consecutive_failures", "next_run_at", "status", "updated_at"]
    )
    if paused:
        from .notify import connection_paused_notify

        transaction.on_commit(lambda: connection_paused_notify(connection_pk=connection.pk))
