"""What a bulk job does to one location, one function per `BulkJob.Kind`.

Each takes `(item, job)` and returns the message shown beside the location; it raises `Skipped`
when there was nothing to do and `ApplicationError` when the location failed. The runner calls
each inside a savepoint, so a failure leaves nothing half done for that location.

Decisions:
* disabling a location's sync also disables its *active* external connections; paused ones stay
  paused (they stopped after repeated failures and need a person's "Resume", which enabling in
  bulk must not bypass), so enabling turns back on only the connections that are disabled;
* disabling does not cancel a run already going on: it stops the schedule, the run finishes;
* a resync is a reconciliation (reads everything, writes only differences and deletions), skipped
  while a backfill or reconciliation of the location is queued or running — either already reads
  everything.

Applying a routing or report template (another location's rules or report schedule) is in
`location_templates`.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from integrations.connectors import services as connectors
from integrations.connectors.models import ExternalConnection, ExternalSyncRun
from integrations.sync.engine import location_installation, sync_run_start
from integrations.sync.models import LocationSync, SyncRun
from saas_platform.kernel.errors import ApplicationError
from tenants import services as tenant_services
from tenants.models import Location

from .location_templates import apply_report_template, apply_routing_template
from .models import BulkJob, BulkJobItem
from .skipped import Skipped

NOT_CONNECTED = "Not connected to GHL (no healthy installation): reconnect it first."


Action = Callable[[BulkJobItem, BulkJob], str]


def _require_ghl(location: Location) -> None:
    if location_installation(location) is None:
        raise ApplicationError(NOT_CONNECTED)


def apply_connection(item: BulkJobItem, job: BulkJob) -> str:
    """Copy the template connection to the location under the same name."""
    location = item.location
    # Read again for every location: a template deleted mid-job fails the rest, not a crash.
    template = (
        ExternalConnection.objects.for_agency(job.agency)
        .filter(pk=job.params.get("connection_id"))
        .first()
    )
    if template is None:
        raise ApplicationError("The template connection no longer exists.")
    if ExternalConnection.objects.for_location(location).filter(name=template.name).exists():
        raise Skipped(f"Already has a connection named {template.name!r}; left unchanged.")
    _require_ghl(location)
    # Through the service: same validation, credential preparation and audit as a hand-made one.
    copy = connectors.connection_create(
        location=location,
        name=template.name,
        kind=template.kind,
        config=template.config,
        credentials=template.secrets,  # decrypted here, encrypted again for the copy
        mapping=template.mapping,
        direction=template.direction,
        match_on=template.match_on,
        interval_minutes=template.interval_minutes,
        acting_user=job.created_by,
    )
    return f"Connection {copy.name!r} created; its first sync is due now."


def _set_sync(item: BulkJobItem, job: BulkJob, *, enabled: bool) -> str:
    location = item.location
    sync, _ = LocationSync.objects.get_or_create(location=location)
    connections = ExternalConnection.objects.for_location(location)
    Status = ExternalConnection.Status
    if enabled:
        changed = connections.filter(status=Status.DISABLED).update(
            status=Status.ACTIVE, next_run_at=timezone.now(), updated_at=timezone.now()
        )
    else:
        changed = connections.filter(status=Status.ACTIVE).update(
            status=Status.DISABLED, updated_at=timezone.now()
        )
    if sync.enabled == enabled and not changed:
        raise Skipped(f"Already {'enabled' if enabled else 'disabled'}.")
    was = sync.enabled
    sync.enabled = enabled
    sync.save(update_fields=["enabled", "updated_at"])
    tenant_services.audit_record(
        action="location_sync.enabled" if enabled else "location_sync.disabled",
        target=sync,
        acting_user=job.created_by,
        agency=job.agency,
        location=location,
        changes={"enabled": (was, enabled), "external_connections_changed": (None, changed)},
    )
    verb = "enabled" if enabled else "disabled"
    paused = connections.filter(status=Status.PAUSED).count()
    note = f" {paused} paused connection(s) left for a person to resume." if paused else ""
    return f"GHL sync {verb}; {changed} external connection(s) {verb}.{note}"


def sync_enable(item: BulkJobItem, job: BulkJob) -> str:
    return _set_sync(item, job, enabled=True)


def sync_disable(item: BulkJobItem, job: BulkJob) -> str:
    return _set_sync(item, job, enabled=False)


def resync(item: BulkJobItem, job: BulkJob) -> str:
    location = item.location
    _require_ghl(location)
    busy = (
        SyncRun.objects.for_location(location)
        .filter(
            kind__in=[SyncRun.Kind.BACKFILL, SyncRun.Kind.RECONCILE],
            status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING],
        )
        .first()
    )
    if busy is not None:
        raise Skipped(f"A {busy.get_kind_display().lower()} is already {busy.status}.")
    run = sync_run_start(location=location, kind=SyncRun.Kind.RECONCILE)
    return f"Reconciliation queued (sync run {run.pk})."


def connections_run(item: BulkJobItem, job: BulkJob) -> str:
    # Not connectors.connection_sync_now: that records the run as a person's "Sync now"; these
    # runs are marked as the bulk action's. Only active connections: paused ones wait for a
    # person, disabled ones are off.
    from integrations.tasks import external_connection_run

    active = list(
        ExternalConnection.objects.for_location(item.location)
        .filter(status=ExternalConnection.Status.ACTIVE)
        .order_by("name")
    )
    if not active:
        raise Skipped("No active external connection.")
    for connection in active:
        pk = connection.pk
        transaction.on_commit(
            lambda pk=pk: external_connection_run.delay(pk, ExternalSyncRun.Trigger.BULK)  # type: ignore[misc]
        )
    return f"{len(active)} external sync(s) queued: {', '.join(c.name for c in active)}."


ACTIONS: dict[str, Action] = {
    BulkJob.Kind.APPLY_CONNECTION: apply_connection,
    BulkJob.Kind.SYNC_ENABLE: sync_enable,
    BulkJob.Kind.SYNC_DISABLE: sync_disable,
    BulkJob.Kind.RESYNC: resync,
    BulkJob.Kind.CONNECTIONS_RUN: connections_run,
    BulkJob.Kind.APPLY_ROUTING_TEMPLATE: apply_routing_template,
    BulkJob.Kind.APPLY_REPORT_TEMPLATE: apply_report_template,
}
