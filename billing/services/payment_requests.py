"""What a payment automation does: an opportunity won in GHL (the outbox's "opportunity.won",
published by integrations) becomes one PaymentRequest per matching rule and one Stripe invoice on
the agency's connected account, with the platform's application fee, sent to the contact; the
invoice paid (a Connect event, re-read from Stripe) marks the request paid and publishes
"payment.succeeded", which integrations writes back to GHL.

Once only: the outbox event is claimed (`PaymentTrigger`), a request is unique per (rule,
opportunity), and every Stripe create carries an idempotency key naming the rule and the
opportunity; each Stripe id is stored as soon as it exists, so a retry resumes instead of
creating again."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import stripe
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from saas_platform.kernel.logging import get_logger
from tenants.events import OPPORTUNITY_WON, PAYMENT_SUCCEEDED, event_publish
from tenants.models import TenantEvent

from .. import stripe_api
from ..currencies import ZERO_DECIMAL, major_units
from ..models import PaymentAutomation, PaymentRequest, PaymentTrigger, StripeAccount
from .plans import MAX_AMOUNT

log = get_logger(__name__)

__all__ = ["OPPORTUNITY_WON", "PAYMENT_SUCCEEDED"]

CLAIM_BATCH = 200
# Won events older than this are history, not work (the outbox keeps them for 30 days).
LOOKBACK = timedelta(days=7)
# A request still being created after this long lost its worker: the sweep sends it again.
STALLED_AFTER = timedelta(minutes=5)


class RetryLater(Exception):
    """Stripe was busy or down: the request stays pending and is sent again later."""


def minor_units(value: Any, currency: str) -> int | None:
    """GHL's monetary value (a decimal in the main unit) in Stripe's minor unit; None when it is
    not a number."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite():
        return None
    factor = 1 if currency in ZERO_DECIMAL else 100
    return int((amount * factor).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --- won opportunities → requests -----------------------------------------------------------------

_CLAIM_SQL = f"""
    INSERT INTO {PaymentTrigger._meta.db_table} (event_id, claimed_at)
    SELECT e.id, now() FROM {TenantEvent._meta.db_table} e
    WHERE e.type = %s AND e.created_at > %s
      AND NOT EXISTS (
          SELECT 1 FROM {PaymentTrigger._meta.db_table} t WHERE t.event_id = e.id
      )
    ORDER BY e.created_at
    LIMIT %s
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id
"""  # noqa: S608 — identifiers from the models, values bound


def won_events_consume(*, limit: int = CLAIM_BATCH) -> list[int]:
    """Claim committed "opportunity.won" events and make their payment requests (pending), in
    one transaction; returns the ids of the requests to send. A duplicate won event of one
    opportunity finds its request already made and adds nothing."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [OPPORTUNITY_WON, timezone.now() - LOOKBACK, limit])
        claimed = [row[0] for row in cursor.fetchall()]
        pending: list[int] = []
        for event in TenantEvent.objects.unscoped().filter(id__in=claimed).order_by("created_at"):
            pending += _requests_for(event)
    return list(dict.fromkeys(pending))  # two events of one opportunity: its request once


def _requests_for(event: TenantEvent) -> list[int]:
    opportunity: Mapping[str, Any] = event.data.get("opportunity") or {}
    contact: Mapping[str, Any] = event.data.get("contact") or {}
    opportunity_id = str(opportunity.get("id") or "")[:64]
    if not opportunity_id:
        return []
    pipeline = str(opportunity.get("pipeline_id") or "")
    rules = PaymentAutomation.objects.unscoped().filter(
        Q(pipeline_ghl_id="") | Q(pipeline_ghl_id=pipeline),
        location_id=event.location_id,
        enabled=True,
    )
    rows = []
    for rule in rules:
        amount = minor_units(opportunity.get("monetary_value"), rule.currency)
        request = PaymentRequest(
            location_id=event.location_id,
            automation=rule,
            opportunity_ghl_id=opportunity_id,
            opportunity_name=str(opportunity.get("name") or "")[:300],
            pipeline_ghl_id=pipeline[:64],
            contact_ghl_id=str(contact.get("id") or opportunity.get("contact_id") or "")[:64],
            customer_email=str(contact.get("email") or "")[:254],
            amount=max(amount or 0, 0),
            currency=rule.currency,
        )
        refusal = _refusal(amount, request)
        if refusal:
            request.status, request.error = PaymentRequest.Status.FAILED, refusal
        rows.append(request)
    PaymentRequest.objects.bulk_create(rows, ignore_conflicts=True)
    return list(
        PaymentRequest.objects.unscoped()
        .filter(
            location_id=event.location_id,
            opportunity_ghl_id=opportunity_id,
            automation__in=rules,
            status=PaymentRequest.Status.PENDING,
        )
        .values_list("pk", flat=True)
    )


def _refusal(amount: int | None, request: PaymentRequest) -> str:
    if amount is None or amount <= 0:
        return "The opportunity has no value to bill (its monetary value is zero or missing)."
    if amount > MAX_AMOUNT:
        return f"The opportunity's value is above what Stripe accepts in {request.currency}."
    if not request.customer_email:
        return "The contact has no e-mail address to send the invoice to."
    return ""


def platform_fee(amount: int) -> int:
    return int(
        (Decimal(amount) * Decimal(str(settings.BILLING_PLATFORM_FEE_PERCENT)) / 100).quantize(
            Decimal(1), rounding=ROUND_HALF_UP
        )
    )


# --- request → Stripe invoice ---------------------------------------------------------------------


def payment_request_send(*, request_id: int) -> str:
    """Create, finalize and send the request's invoice (resuming after the last step that is
    stored). Returns the request's status; raises RetryLater when Stripe should be asked again."""
    with transaction.atomic():
        request: PaymentRequest | None = (
            PaymentRequest.objects.unscoped()
            .select_for_update(skip_locked=True)
            .select_related("automation", "location")
            .filter(pk=request_id)
            .first()
        )
        if request is None or request.status != PaymentRequest.Status.PENDING:
            return str(request.status) if request else "locked"
        account: StripeAccount | None = (
            StripeAccount.objects.unscoped().filter(agency_id=request.location.agency_id).first()
        )
        if account is None or not account.ready:
            return _fail(request, "The agency's Stripe account cannot take payments yet.")
        request.stripe_account_id = account.stripe_account_id
        request.application_fee_amount = platform_fee(request.amount)
        try:
            _invoice(request)
        except stripe_api.StripeRefused as exc:
            return _fail(request, exc.message)
        except stripe_api.StripeCallError as exc:
            request.error = exc.message[:2000]
            request.save()
            if not exc.retryable:
                return _fail(request, exc.message)
            retry: RetryLater | None = RetryLater(exc.message)
        else:
            retry = None
            request.status, request.error = PaymentRequest.Status.SENT, ""
            request.save()
    if retry is not None:
        raise retry
    log.info("billing.payment_request.sent", request_id=request.pk, location_id=request.location_id)
    return str(request.status)


def _fail(request: PaymentRequest, message: str) -> str:
    request.status, request.error = PaymentRequest.Status.FAILED, message[:2000]
    request.save()
    log.warning("billing.payment_request.failed", request_id=request.pk, error=message)
    return str(request.status)


def _invoice(request: PaymentRequest) -> None:
    rule = request.automation
    key = f"payauto-{rule.pk}-{request.opportunity_ghl_id}"
    account = request.stripe_account_id
    meta = {
        "payment_request_id": str(request.pk),
        "location_id": str(request.location_id),
        "opportunity_id": request.opportunity_ghl_id,
    }
    what = request.opportunity_name or "Opportunity"
    api = stripe_api.client()

    def opts(step: str) -> Any:
        return stripe_api.options(account=account, idempotency_key=f"{key}-{step}")

    try:
        if not request.stripe_customer_id:
            customer = api.v1.customers.create(
                params={"email": request.customer_email, "metadata": meta},
                options=opts("customer"),
            )
            request.stripe_customer_id = str(customer.id)
            request.save(update_fields=["stripe_account_id", "stripe_customer_id", "updated_at"])
        if not request.stripe_object_id:
            invoice = api.v1.invoices.create(
                params={
                    "customer": request.stripe_customer_id,
                    "collection_method": "send_invoice",
                    "days_until_due": rule.days_until_due,
                    "currency": request.currency,
                    "application_fee_amount": request.application_fee_amount,
                    "description": what,
                    "metadata": meta,
                    "auto_advance": False,
                },
                options=opts("invoice"),
            )
            api.v1.invoice_items.create(
                params={
                    "customer": request.stripe_customer_id,
                    "invoice": str(invoice.id),
                    "amount": request.amount,
                    "currency": request.currency,
                    "description": what,
                    "metadata": meta,
                },
                options=opts("item"),
            )
            request.stripe_object_id = str(invoice.id)
            request.save(update_fields=["stripe_object_id", "application_fee_amount", "updated_at"])
        invoice = api.v1.invoices.retrieve(
            request.stripe_object_id, options=stripe_api.options(account=account)
        )
        if invoice.status == "draft":
            invoice = api.v1.invoices.finalize_invoice(invoice.id, options=opts("finalize"))
            invoice = api.v1.invoices.send_invoice(invoice.id, options=opts("send"))
    except stripe.StripeError as exc:
        raise stripe_api.translate(exc) from exc
    request.hosted_url = str(invoice.hosted_invoice_url or "")


def payment_requests_stalled(*, now: Any = None) -> list[int]:
    """Requests still pending well after they were made (a lost task, Stripe down): to send."""
    cutoff = (now or timezone.now()) - STALLED_AFTER
    return list(
        PaymentRequest.objects.unscoped()
        .filter(status=PaymentRequest.Status.PENDING, updated_at__lt=cutoff)
        .values_list("pk", flat=True)[:500]
    )


# --- Stripe says paid → request paid → "payment.succeeded" ----------------------------------------


def payment_request_refresh(*, account: str, invoice: Any) -> str | None:
    """Apply what Stripe says now of an automation's invoice (re-read by the caller); None when
    the invoice is not one of ours. Paid once: the event for GHL is published in the same
    transaction that marks the request paid."""
    invoice_id = str(stripe_api.value(invoice, "id", default=""))
    with transaction.atomic():
        request: PaymentRequest | None = (
            PaymentRequest.objects.unscoped()
            .select_for_update()
            .select_related("automation")
            .filter(stripe_account_id=account, stripe_object_id=invoice_id)
            .first()
        )
        if request is None:
            return None
        status = stripe_api.value(invoice, "status")
        if status == "paid" and request.status != PaymentRequest.Status.PAID:
            request.status, request.paid_at, request.error = (
                PaymentRequest.Status.PAID,
                timezone.now(),
                "",
            )
            request.save()
            event_publish(
                location=request.location_id,
                event_type=PAYMENT_SUCCEEDED,
                data=_paid_data(request),
            )
            log.info("billing.payment_request.paid", request_id=request.pk)
        elif status == "void" and request.status == PaymentRequest.Status.SENT:
            request.status = PaymentRequest.Status.VOID
            request.save()
        return f"payment request {request.pk}: {request.status}"


def _paid_data(request: PaymentRequest) -> dict[str, Any]:
    return {
        "payment": {
            "id": request.pk,
            "amount": request.amount,
            "currency": request.currency,
            "amount_display": request.amount_display,
            "stripe_object_id": request.stripe_object_id,
            "kind": request.automation.action,
        },
        "opportunity": {
            "id": request.opportunity_ghl_id,
            "pipeline_id": request.pipeline_ghl_id,
            "monetary_value": str(major_units(request.amount, request.currency)),
            "paid_stage_id": request.automation.paid_stage_ghl_id,
        },
        "contact": {"id": request.contact_ghl_id},
    }
