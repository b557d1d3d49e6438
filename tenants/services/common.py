"""What every tenant service shares: validation with readable messages, field-level updates that
report old and new values, and the audit record."""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from saas_platform.kernel.errors import ApplicationError
from saas_platform.kernel.logging import get_logger

from ..models import Agency, AuditLogEntry, Location, User

log = get_logger(__name__)


def _jsonable(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, datetime.datetime | datetime.date | decimal.Decimal | uuid.UUID):
        return str(value)
    return value


def audit_record(
    *,
    action: str,
    target: models.Model,
    acting_user: User | None,
    agency: Agency | None,
    location: Location | None = None,
    changes: Mapping[str, tuple[Any, Any]] | None = None,
) -> AuditLogEntry:
    entry = AuditLogEntry.objects.create(
        agency=agency,
        location=location,
        actor=acting_user if acting_user and acting_user.pk else None,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        target_repr=str(target)[:200],
        changes={
            field: [_jsonable(old), _jsonable(new)] for field, (old, new) in (changes or {}).items()
        },
    )
    log.info("audit." + action, target=entry.target_repr, agency_id=agency.pk if agency else None)
    return entry


def validated(instance: models.Model, *, exclude: Iterable[str] = ()) -> None:
    try:
        instance.full_clean(exclude=list(exclude))
    except ValidationError as exc:
        raise ApplicationError(_describe(exc), extra={"errors": exc.message_dict}) from exc


def _describe(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


def update_fields(
    instance: models.Model,
    data: Mapping[str, Any],
    *,
    allowed: Iterable[str],
) -> dict[str, tuple[Any, Any]]:
    """Apply `data` to the allowed fields; returns {field: (old, new)} of what changed."""
    unknown = set(data) - set(allowed)
    if unknown:
        raise ApplicationError(
            f"These fields cannot be changed here: {', '.join(sorted(unknown))}."
        )
    changes: dict[str, tuple[Any, Any]] = {}
    for field, new in data.items():
        old = getattr(instance, field)
        if old != new:
            setattr(instance, field, new)
            changes[field] = (old, new)
    if changes:
        validated(instance, exclude=["password"] if isinstance(instance, User) else ())
        timestamps = ["updated_at"] if hasattr(instance, "updated_at") else []
        instance.save(update_fields=[*changes, *timestamps])
    return changes
