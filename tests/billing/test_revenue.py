"""Paid invoices become the location's revenue, which reports read through tenants."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from django.test import Client

from billing.models import Plan, StripeEvent
from billing.services.inbox import stripe_event_replay
from tenants import selectors
from tests.billing.stripe_wire import StripeWire, event, signed
from tests.conftest import World

ACCOUNT = "acct_AgencyA0000001"
PAID_AT = 1_796_000_000  # 2026-11-29 UTC


def test_a_paid_invoice_is_revenue_once(
    world: World,
    plan: Plan,
    stripe_wire: StripeWire,
    platform_client: Callable[..., Client],
    django_capture_on_commit_callbacks: Any,
) -> None:
    location = world.a.locations[0]
    sub = stripe_wire.subscription(
        customer="cus_1",
        price=stripe_wire.objects[plan.stripe_price_id],
        status="active",
        metadata={"location_id": str(location.pk)},
    )
    stripe_wire.put(sub, ACCOUNT)
    unpaid = stripe_wire.invoice(subscription=sub, status="open", account=ACCOUNT)
    paid = stripe_wire.invoice(
        subscription=sub, status="paid", account=ACCOUNT, amount_paid=9900, paid_at=PAID_AT
    )
    client = platform_client()
    for invoice_id, event_type in ((unpaid, "invoice.payment_failed"), (paid, "invoice.paid")):
        # The payload claims paid for both: only what Stripe answers on re-reading counts.
        snapshot = {**stripe_wire.objects[invoice_id], "status": "paid", "amount_paid": 9900}
        body, signature = signed(event(event_type, snapshot, account=ACCOUNT), "whsec_test_connect")
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                "/billing/stripe/connect-webhooks",
                body,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=signature,
            )
    window = {"date_from": date(2026, 11, 1), "date_to": date(2026, 11, 30)}
    ids = [loc.pk for loc in [*world.a.locations, *world.b.locations]]
    assert selectors.location_revenue(location_ids=ids, **window) == {location.pk: Decimal("99.00")}

    for row in StripeEvent.objects.all():
        assert stripe_event_replay(event_pk=row.pk) == "succeeded"
    assert selectors.location_revenue(location_ids=ids, **window) == {location.pk: Decimal("99.00")}
    assert (
        selectors.location_revenue(
            location_ids=ids, date_from=date(2026, 12, 1), date_to=date(2026, 12, 31)
        )
        == {}
    )
