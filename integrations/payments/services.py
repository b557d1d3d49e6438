"""A payment billing's automations took ("payment.succeeded" in the outbox) written back to GHL:
a note on the contact ("Paid 1,200.00 AED — invoice in_…") and the opportunity's monetary value
(and stage, when the rule names one) updated, through the governor at webhook priority, the
mirror refreshed from GHL's answer.

Once only: the write-back row is the claim on the event (unique per event and per payment), and
each step is stamped when GHL has answered, so a retry after GHL was busy resumes where it
stopped."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from integrations.ghl import operations as ops
from integrations.ghl.client import GhlClient
from integrations.ghl.errors import (
    GhlNotFound,
    GhlRateLimited,
    GhlServerError,
    GhlTimeout,
    GhlValidationError,
)
from integrations.ghl.governor import Priority
from integrations.mirror.writer import mirror_upsert
from integrations.sync.engine import location_installation
from saas_platform.kernel.logging import get_logger
from tenants.events import PAYMENT_SUCCEEDED
from tenants.models import Location, TenantEvent

from .models import PaymentWriteback

log = get_logger(__name__)

GHL_TRANSIENT = (GhlRateLimited, GhlServerError, GhlTimeout)
CLAIM_BATCH = 200
LOOKBACK = timedelta(days=7)
STALLED_AFTER = timedelta(minutes=5)
KIND_NAMES = {"invoice": "invoice"}


class RetryLater(Exception):
    """GHL busy or down: the write-back stays pending and runs again later."""


def payment_events_want(_location_id: int, event_type: str) -> bool:
    return event_type == PAYMENT_SUCCEEDED


def _claim_sql() -> str:
    q = connection.ops.quote_name
    events, writebacks = q(TenantEvent._meta.db_table), q(PaymentWriteback._meta.db_table)
    return f"""
        INSERT INTO {writebacks} (
            location_id, event_id, payment_ref, data, status, attempts, note_ghl_id,
            opportunity_written_at, error, created_at, updated_at
        )
        SELECT e.location_id, e.id, coalesce(e.data->'payment'->>'id', e.id::text), e.data,
               'pending', 0, '', NULL, '', now(), now()
        FROM {events} e
        WHERE e.type = %s AND e.created_at > %s
          AND NOT EXISTS (
              SELECT 1 FROM {writebacks} w
              WHERE w.event_id = e.id
                 OR w.payment_ref = coalesce(e.data->'payment'->>'id', e.id::text)
          )
        ORDER BY e.created_at
        LIMIT %s
        ON CONFLICT DO NOTHING
        RETURNING id
    """  # noqa: S608 — identifiers from the models, values bound


def payment_events_claim(*, limit: int = CLAIM_BATCH) -> list[int]:
    """Claim committed "payment.succeeded" events: the ids of the new write-backs."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_claim_sql(), [PAYMENT_SUCCEEDED, timezone.now() - LOOKBACK, limit])
        return [int(row[0]) for row in cursor.fetchall()]


def payment_writebacks_stalled() -> list[int]:
    cutoff = timezone.now() - STALLED_AFTER
    return list(
        PaymentWriteback.objects.unscoped()
        .filter(status=PaymentWriteback.Status.PENDING, updated_at__lt=cutoff)
        .values_list("pk", flat=True)[:500]
    )


def payment_note(data: dict[str, Any]) -> str:
    payment = data.get("payment") or {}
    kind = KIND_NAMES.get(str(payment.get("kind") or ""), "payment")
    return (
        f"Paid {payment.get('amount_display', '')} — {kind} {payment.get('stripe_object_id', '')}"
    )


def payment_writeback_run(*, writeback_id: int) -> str:
    """Write one paid request to GHL (what is not written yet). Returns the status; raises
    RetryLater when GHL should be asked again."""
    with transaction.atomic():
        writeback: PaymentWriteback | None = (
            PaymentWriteback.objects.unscoped()
            .select_for_update(skip_locked=True)
            .select_related("location", "location__agency")
            .filter(pk=writeback_id)
            .first()
        )
        if writeback is None or writeback.status != PaymentWriteback.Status.PENDING:
            return str(writeback.status) if writeback else "locked"
        writeback.attempts += 1
        retry = _write(writeback)
        writeback.save()
    if retry is not None:
        raise retry
    log.info("payments.writeback.finished", writeback_id=writeback.pk, status=writeback.status)
    return str(writeback.status)


def _write(writeback: PaymentWriteback) -> RetryLater | None:
    location: Location = writeback.location
    installation = location_installation(location)
    if installation is None:
        writeback.status = PaymentWriteback.Status.FAILED
        writeback.error = "The location is not connected to GHL."
        return None
    data = writeback.data
    contact_id = str((data.get("contact") or {}).get("id") or "")
    opportunity = data.get("opportunity") or {}
    try:
        with GhlClient(installation, priority=Priority.WEBHOOK) as ghl:
            if not writeback.note_ghl_id and contact_id:
                note = ghl.run(
                    ops.contact_note_create(contact_id=contact_id, body=payment_note(data))
                )
                writeback.note_ghl_id = str(note.get("id") or "-")[:64]
            if writeback.opportunity_written_at is None and opportunity.get("id"):
                record = ghl.run(
                    ops.opportunity_update(
                        opportunity_id=str(opportunity["id"]),
                        fields=_opportunity_fields(opportunity),
                    )
                )
                mirror_upsert(location_id=location.pk, kind="opportunity", records=[record])
                writeback.opportunity_written_at = timezone.now()
    except GHL_TRANSIENT as exc:
        writeback.error = f"GHL is busy or down: {exc}"[:2000]
        return RetryLater(writeback.error)
    except (GhlValidationError, GhlNotFound) as exc:
        writeback.status = PaymentWriteback.Status.FAILED
        writeback.error = f"GHL refused the write: {exc.message}"[:2000]
        return None
    writeback.status, writeback.error = PaymentWriteback.Status.DONE, ""
    return None


def _opportunity_fields(opportunity: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    with contextlib.suppress(InvalidOperation, ValueError):
        fields["monetaryValue"] = float(Decimal(str(opportunity.get("monetary_value"))))
    if opportunity.get("paid_stage_id") and opportunity.get("pipeline_id"):
        fields["pipelineId"] = str(opportunity["pipeline_id"])
        fields["pipelineStageId"] = str(opportunity["paid_stage_id"])
    return fields
