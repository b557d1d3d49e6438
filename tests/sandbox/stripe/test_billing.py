"""Subscriptions over time: trials, renewals, proration, cancellation, payment failures and the
Smart-Retries-like schedule, all driven by the stand-in clock."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from sandbox.stripe.testing import StripeStandIn
from tests.sandbox.stripe.conftest import make_plan, subscribe

DAY = 86_400


def statuses(sdk: Any, sub_id: str) -> str:
    return str(sdk.v1.subscriptions.retrieve(sub_id).status)


def test_a_trial_converts_when_it_ends(sdk: Any, plan: Any, fake: StripeStandIn) -> None:
    sub = subscribe(sdk, plan, trial_period_days=7, expand=["latest_invoice"])
    assert sub.status == "trialing"
    assert sub.latest_invoice.amount_due == 0 and sub.latest_invoice.status == "paid"
    fake.advance(days=7, seconds=1)
    sub = sdk.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert sub.status == "active"
    assert sub.latest_invoice.billing_reason == "subscription_cycle"
    assert sub.latest_invoice.amount_paid == 3000
    assert sub.current_period_start == sub.trial_end


def test_renewals_invoice_every_period(sdk: Any, plan: Any, fake: StripeStandIn) -> None:
    sub = subscribe(sdk, plan)
    fake.advance(days=95)
    invoices = sdk.v1.invoices.list(params={"subscription": sub.id}).data
    assert [i.billing_reason for i in invoices] == ["subscription_cycle"] * 3 + [
        "subscription_create"
    ]
    assert all(i.status == "paid" for i in invoices)
    assert invoices[0].hosted_invoice_url and invoices[0].invoice_pdf


def test_a_failing_card_goes_past_due_and_recovers_on_retry(
    sdk: Any, plan: Any, fake: StripeStandIn
) -> None:
    sub = subscribe(sdk, plan)
    fake.fail_payments(customer=sub.customer, count=1)
    fake.advance(days=31)
    sub = sdk.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert sub.status == "past_due"
    invoice = sub.latest_invoice
    assert (invoice.status, invoice.attempt_count) == ("open", 1)
    assert invoice.next_payment_attempt is not None
    failed = sdk.v1.events.list(params={"type": "invoice.payment_failed"}).data
    assert failed[0].data.object.id == invoice.id
    fake.advance(days=1)  # the first retry falls due and the card works again
    sub = sdk.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert sub.status == "active"
    assert (sub.latest_invoice.status, sub.latest_invoice.attempt_count) == ("paid", 2)


def test_retries_follow_the_schedule_then_cancel(sdk: Any, plan: Any, fake: StripeStandIn):
    sub = subscribe(sdk, plan, card="pm_card_visa")
    fake.fail_payments(customer=sub.customer)  # until cleared
    fake.advance(days=31)
    invoice = sdk.v1.invoices.retrieve(sdk.v1.subscriptions.retrieve(sub.id).latest_invoice)
    first_failure = invoice.next_payment_attempt - 1 * DAY
    seen = []
    for _ in range(3):
        fake.run_retries()
        invoice = sdk.v1.invoices.retrieve(invoice.id)
        seen.append(invoice.next_payment_attempt - first_failure)
    assert seen == [3 * DAY, 5 * DAY, 7 * DAY]
    assert statuses(sdk, sub.id) == "past_due"
    fake.run_retries()
    assert statuses(sdk, sub.id) == "canceled"
    assert sdk.v1.invoices.retrieve(invoice.id).next_payment_attempt is None
    deleted = sdk.v1.events.list(params={"type": "customer.subscription.deleted"}).data
    assert deleted[0].data.object.id == sub.id


def test_a_card_that_attaches_but_fails_leaves_the_subscription_incomplete(
    sdk: Any, plan: Any, fake: StripeStandIn
) -> None:
    sub = subscribe(sdk, plan, card="pm_card_chargeCustomerFail")
    assert sub.status == "incomplete"
    with pytest.raises(stripe.CardError) as caught:
        subscribe(
            sdk, plan, card="pm_card_chargeCustomerFail", payment_behavior="error_if_incomplete"
        )
    assert (caught.value.http_status, caught.value.code) == (402, "card_declined")
    fake.advance(days=1)
    assert statuses(sdk, sub.id) == "incomplete_expired"


def test_a_declined_card_cannot_be_attached(sdk: Any) -> None:
    with pytest.raises(stripe.CardError) as caught:
        sdk.v1.customers.create(params={"payment_method": "pm_card_chargeDeclined"})
    assert caught.value.error.decline_code == "generic_decline"
    assert sdk.v1.customers.list().data == []


def test_paying_an_open_invoice_recovers(sdk: Any, plan: Any, fake: StripeStandIn) -> None:
    sub = subscribe(sdk, plan)
    fake.fail_payments(customer=sub.customer, count=1)
    fake.advance(days=31)
    invoice_id = sdk.v1.subscriptions.retrieve(sub.id).latest_invoice
    paid = sdk.v1.invoices.pay(invoice_id)
    assert paid.status == "paid"
    assert statuses(sdk, sub.id) == "active"
    with pytest.raises(stripe.InvalidRequestError):
        sdk.v1.invoices.pay(invoice_id)


def test_the_hosted_invoice_page_takes_a_card(sdk: Any, plan: Any, fake: StripeStandIn) -> None:
    sub = subscribe(sdk, plan, card="pm_card_chargeCustomerFail", trial_period_days=3)
    fake.advance(days=4)
    invoice = sdk.v1.invoices.retrieve(sdk.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert invoice.status == "open"
    with httpx.Client(trust_env=False, timeout=30) as browser:
        assert browser.get(invoice.invoice_pdf).headers["content-type"] == "application/pdf"
        declined = browser.post(
            invoice.hosted_invoice_url, data={"card_number": "4000000000000002"}
        )
        assert declined.status_code == 402
        browser.post(invoice.hosted_invoice_url, data={"card_number": "4242424242424242"})
    assert sdk.v1.invoices.retrieve(invoice.id).status == "paid"
    assert statuses(sdk, sub.id) == "active"


def test_changing_plan_creates_prorations(sdk: Any, plan: Any, fake: StripeStandIn) -> None:
    sub = subscribe(sdk, plan)
    bigger = make_plan(sdk, amount=9000, name="Scale")
    period = sub.current_period_end - sub.current_period_start
    fake.advance(seconds=period // 2)
    item = sub["items"].data[0]
    updated = sdk.v1.subscriptions.update(
        sub.id,
        params={
            "items": [{"id": item.id, "price": bigger.id}],
            "proration_behavior": "create_prorations",
        },
    )
    assert updated["items"].data[0].price.id == bigger.id
    pending = sdk.v1.invoice_items.list(params={"customer": sub.customer, "pending": True}).data
    amounts = sorted(i.amount for i in pending)
    # Half a period left: about -1500 for unused Growth and +4500 for the rest on Scale.
    assert -1510 <= amounts[0] <= -1490 and 4490 <= amounts[1] <= 4510
    assert all(i.proration for i in pending)
    fake.advance(seconds=period // 2 + 60)
    renewal = sdk.v1.invoices.retrieve(sdk.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert renewal.total == 9000 + sum(amounts)
    assert sum(1 for line in renewal.lines.data if line.proration) == 2


def test_always_invoice_charges_the_difference_now(sdk: Any, plan: Any, fake: StripeStandIn):
    sub = subscribe(sdk, plan)
    bigger = make_plan(sdk, amount=9000, name="Scale")
    fake.advance(days=10)
    sdk.v1.subscriptions.update(
        sub.id,
        params={
            "items": [{"id": sub["items"].data[0].id, "price": bigger.id}],
            "proration_behavior": "always_invoice",
        },
    )
    invoice = sdk.v1.invoices.retrieve(sdk.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert invoice.billing_reason == "subscription_update" and invoice.status == "paid"
    assert 0 < invoice.amount_paid < 6000


def test_no_proration_when_asked(sdk: Any, plan: Any, fake: StripeStandIn) -> None:
    sub = subscribe(sdk, plan)
    bigger = make_plan(sdk, amount=9000, name="Scale")
    fake.advance(days=10)
    sdk.v1.subscriptions.update(
        sub.id,
        params={
            "items": [{"id": sub["items"].data[0].id, "price": bigger.id}],
            "proration_behavior": "none",
        },
    )
    assert sdk.v1.invoice_items.list(params={"customer": sub.customer}).data == []


def test_cancel_now_and_at_period_end(sdk: Any, plan: Any, fake: StripeStandIn) -> None:
    now_sub = subscribe(sdk, plan)
    canceled = sdk.v1.subscriptions.cancel(now_sub.id)
    assert canceled.status == "canceled" and canceled.canceled_at is not None
    with pytest.raises(stripe.InvalidRequestError) as caught:
        sdk.v1.subscriptions.cancel(now_sub.id)
    assert "already canceled" in str(caught.value.user_message)
    later = subscribe(sdk, plan)
    flagged = sdk.v1.subscriptions.update(later.id, params={"cancel_at_period_end": True})
    assert flagged.cancel_at == later.current_period_end and flagged.status == "active"
    fake.advance(days=32)
    assert statuses(sdk, later.id) == "canceled"
    assert sdk.v1.subscriptions.list().data == []  # canceled ones only with status=all
    assert len(sdk.v1.subscriptions.list(params={"status": "all"}).data) == 2
