"""Setting connections up, running them, and settling their conflicts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from saas_platform.kernel.errors import ApplicationError
from tenants import services as tenant_services
from tenants.entitlements import feature_require
from tenants.models import Location, User

from .base import ConnectorError, connector_class
from .engine import build_connector
from .fields import STANDARD, parse_mapping
from .models import Direction, ExternalConnection, ExternalLink, ExternalSyncRun, SyncConflict


def _validated(
    *, kind: str, config: Mapping[str, Any], credentials: Mapping[str, Any], mapping: Any
) -> None:
    try:
        connector_class(kind).validate(config, credentials)
        parse_mapping(mapping)
    except ConnectorError as exc:
        raise ApplicationError(exc.message) from exc


def connection_create(
    *,
    location: Location,
    name: str,
    kind: str,
    config: Mapping[str, Any],
    credentials: Mapping[str, Any],
    mapping: list[dict[str, str]],
    direction: str = Direction.TWO_WAY,
    match_on: str = "email",
    interval_minutes: int = 15,
    acting_user: User | None = None,
) -> ExternalConnection:
    """Validate (no network), encrypt the credentials, store; the first run is due at once."""
    _validated(kind=kind, config=config, credentials=credentials, mapping=mapping)
    credentials = connector_class(kind).prepare_credentials(credentials)
    if match_on and match_on not in STANDARD:
        raise ApplicationError(f"Contacts can be matched on a standard field, not {match_on!r}.")
    if direction not in Direction.values:
        raise ApplicationError(f"Unknown direction {direction!r}.")
    name = name.strip()
    if not name:
        raise ApplicationError("Give the connection a name.")
    if ExternalConnection.objects.for_location(location).filter(name=name).exists():
        raise ApplicationError(f"This location already has a connection named {name!r}.")
    connection = ExternalConnection(
        location=location,
        name=name,
        kind=kind,
        config=dict(config),
        mapping=mapping,
        direction=direction,
        match_on=match_on,
        interval_minutes=interval_minutes,
        owner=acting_user,
        next_run_at=timezone.now(),
    )
    connection.secrets = dict(credentials)
    connection.full_clean(exclude=["credentials"])
    with transaction.atomic():
        _room_for_one_more(location)
        connection.save()
        tenant_services.audit_record(
            action="connection.created",
            target=connection,
            acting_user=acting_user,
            agency=location.agency,
            location=location,
            changes={"kind": (None, kind), "name": (None, name)},
        )
    return connection


def _room_for_one_more(location: Location) -> None:
    """Refuse a connection beyond the plan's limit. The location row is locked first, so two
    creations at once cannot both take the last place."""
    Location.objects.for_agency(location.agency).select_for_update().filter(pk=location.pk).first()
    used = ExternalConnection.objects.for_location(location).count()
    feature_require(location=location, feature="connectors", used=used)


def connection_check(*, connection: ExternalConnection) -> None:
    """Prove the saved settings over the network; raises ApplicationError with the reason."""
    try:
        with build_connector(connection) as connector:
            connector.check()
    except ConnectorError as exc:
        raise ApplicationError(exc.message) from exc


def connection_sync_now(*, connection: ExternalConnection) -> None:
    """Queue a run now (the worker runs it; a run already going on is not doubled)."""
    from integrations.tasks import external_connection_run

    if connection.status == ExternalConnection.Status.DISABLED:
        raise ApplicationError("The connection is disabled; enable it first.")
    feature_require(location=connection.location, feature="connectors")
    transaction.on_commit(
        lambda: external_connection_run.delay(connection.pk, ExternalSyncRun.Trigger.MANUAL)
    )


def connection_resume(*, connection: ExternalConnection, acting_user: User | None) -> None:
    ExternalConnection.objects.for_location(connection.location).filter(pk=connection.pk).update(
        status=ExternalConnection.Status.ACTIVE, consecutive_failures=0, next_run_at=timezone.now()
    )
    tenant_services.audit_record(
        action="connection.resumed",
        target=connection,
        acting_user=acting_user,
        agency=connection.location.agency,
        location=connection.location,
        changes={},
    )


def conflict_resolve(*, conflict: SyncConflict, choose: str, acting_user: User | None) -> None:
    """Settle a conflict with GHL's or the external value: the next run writes it to the other
    side (and the snapshot, so it is not a conflict again)."""
    if choose not in ("ghl", "external"):
        raise ApplicationError("Choose the GHL value or the external value.")
    with transaction.atomic():
        locked = (
            SyncConflict.objects.for_location(conflict.location)
            .select_for_update()
            .filter(pk=conflict.pk, status=SyncConflict.Status.OPEN)
        )
        current = locked.first()
        if current is None:
            raise ApplicationError("This conflict was settled already.")
        value = current.ghl_value if choose == "ghl" else current.external_value
        link = (
            ExternalLink.objects.for_location(conflict.location)
            .select_for_update()
            .get(pk=current.link_id)
        )
        link.pending = {**link.pending, current.field: value}
        link.save(update_fields=["pending"])
        current.status, current.resolution = SyncConflict.Status.RESOLVED, choose
        current.resolved_by, current.resolved_at = acting_user, timezone.now()
        current.save(update_fields=["status", "resolution", "resolved_by", "resolved_at"])


def connections_due_claim(*, now: Any = None, limit: int = 500) -> list[int]:
    """Active connections whose next run is due, each moved to its following slot as it is
    claimed, so the minutely beat never queues one twice."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            ExternalConnection.objects.unscoped()
            .select_for_update(skip_locked=True)
            .filter(status=ExternalConnection.Status.ACTIVE, next_run_at__lte=now)
            .order_by("next_run_at")[:limit]
        )
        for connection in due:
            connection.schedule_next(after=now)
        ExternalConnection.objects.unscoped().bulk_update(due, ["next_run_at"])
    return [c.pk for c in due]
