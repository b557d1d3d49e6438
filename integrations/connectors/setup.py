"""Changing a saved connection from the portal: its settings (credentials kept unless new ones
are given — they are write-only) and pausing it. Creating one is `services.connection_create`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from saas_platform.kernel.errors import ApplicationError
from tenants import services as tenant_services
from tenants.models import User

from .base import ConnectorError, connector_class
from .fields import STANDARD, parse_mapping
from .models import Direction, ExternalConnection, SyncConflict
from .services import conflict_resolve


def connection_update(
    *,
    connection: ExternalConnection,
    name: str,
    config: Mapping[str, Any],
    credentials: Mapping[str, Any] | None,
    mapping: list[dict[str, str]],
    direction: str,
    match_on: str,
    interval_minutes: int,
    acting_user: User | None = None,
) -> ExternalConnection:
    """`credentials` None (or empty) keeps the saved ones; given ones replace them all."""
    kind = connection.kind
    secrets = dict(credentials) if credentials else connection.secrets
    try:
        connector_class(kind).validate(config, secrets)
        parse_mapping(mapping)
    except ConnectorError as exc:
        raise ApplicationError(exc.message) from exc
    if match_on and match_on not in STANDARD:
        raise ApplicationError(f"Contacts can be matched on a standard field, not {match_on!r}.")
    if direction not in Direction.values:
        raise ApplicationError(f"Unknown direction {direction!r}.")
    name = name.strip()
    if not name:
        raise ApplicationError("Give the connection a name.")
    location = connection.location
    taken = ExternalConnection.objects.for_location(location).filter(name=name)
    if taken.exclude(pk=connection.pk).exists():
        raise ApplicationError(f"This location already has a connection named {name!r}.")
    old = {
        "name": connection.name,
        "config": connection.config,
        "mapping": connection.mapping,
        "direction": connection.direction,
        "match_on": connection.match_on,
        "interval_minutes": connection.interval_minutes,
    }
    connection.name, connection.config, connection.mapping = name, dict(config), mapping
    connection.direction, connection.match_on = direction, match_on
    connection.interval_minutes = interval_minutes
    if credentials:
        connection.secrets = connector_class(kind).prepare_credentials(credentials)
    connection.full_clean(exclude=["credentials"])
    changes = {
        k: (v, getattr(connection, k)) for k, v in old.items() if v != getattr(connection, k)
    }
    if credentials:
        changes["credentials"] = ("(kept)", "(replaced)")  # never the values
    with transaction.atomic():
        connection.save()
        tenant_services.audit_record(
            action="connection.updated",
            target=connection,
            acting_user=acting_user,
            agency=location.agency,
            location=location,
            changes=changes,
        )
    return connection


def connection_pause(*, connection: ExternalConnection, acting_user: User | None) -> None:
    """Stop scheduled runs until someone resumes the connection (`services.connection_resume`)."""
    location = connection.location
    with transaction.atomic():
        ExternalConnection.objects.for_location(location).filter(pk=connection.pk).update(
            status=ExternalConnection.Status.DISABLED
        )
        tenant_services.audit_record(
            action="connection.paused",
            target=connection,
            acting_user=acting_user,
            agency=location.agency,
            location=location,
            changes={"status": (connection.status, ExternalConnection.Status.DISABLED)},
        )
    connection.status = ExternalConnection.Status.DISABLED


def conflict_settle(*, conflict: SyncConflict, choose: str, acting_user: User | None) -> None:
    """`services.conflict_resolve` with an audit row of who chose which side."""
    location = conflict.location
    with transaction.atomic():
        conflict_resolve(conflict=conflict, choose=choose, acting_user=acting_user)
        tenant_services.audit_record(
            action="connection.conflict_resolved",
            target=conflict,
            acting_user=acting_user,
            agency=location.agency,
            location=location,
            changes={"resolution": ("", choose)},
        )
