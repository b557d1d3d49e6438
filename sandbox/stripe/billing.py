"""Subscriptions and invoices: periods, trials, proration, payment failures and retries.

Status moves as on Stripe: ``trialing`` → ``active`` when the trial's first invoice is paid;
a failed renewal makes the subscription ``past_due`` and schedules retries
(``Config.retry_schedule_days`` after the first failure); a paid invoice brings it back to
``active``; when the last retry fails it is ``canceled``. A first payment that fails at
creation leaves it ``incomplete`` (``incomplete_expired`` after 23 hours).
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from typing import Any

from sandbox.stripe import payments
from sandbox.stripe.errors import StripeError, invalid
from sandbox.stripe.state import StripeState
from sandbox.stripe.store import new_id

DAY = 86_400
INCOMPLETE_EXPIRES = 23 * 3600


def add_interval(ts: int, interval: str, count: int = 1) -> int:
    if interval == "day":
        return ts + count * DAY
    if interval == "week":
        return ts + count * 7 * DAY
    start = datetime.fromtimestamp(ts, UTC)
    months = count * (12 if interval == "year" else 1)
    year, month0 = divmod(start.month - 1 + months, 12)
    year += start.year
    day = min(start.day, calendar.monthrange(year, month0 + 1)[1])
    return int(start.replace(year=year, month=month0 + 1, day=day).timestamp())


def item_amount(item: dict[str, Any]) -> int:
    return int(item["price"]["unit_amount"] or 0) * int(item["quantity"])


def _line(
    state: StripeState,
    amount: int,
    currency: str,
    description: str,
    period: tuple[int, int],
    price: dict[str, Any] | None = None,
    quantity: int = 1,
    proration: bool = False,
) -> dict[str, Any]:
    return {
        "id": new_id("il"),
        "object": "line_item",
        "amount": amount,
        "currency": currency,
        "description": description,
        "period": {"start": period[0], "end": period[1]},
        "price": price,
        "pricing": {"price_details": {"price": price["id"]}} if price else None,
        "proration": proration,
        "quantity": quantity,
    }


def set_status(state: StripeState, account: str, sub: dict[str, Any], status: str) -> None:
    if sub["status"] == status:
        return
    if sub.get("_creating"):
        # The first payment runs inside the create call: the created event shows its outcome.
        sub["status"] = status
        return
    previous = {"status": sub["status"]}
    sub["status"] = status
    if status == "canceled":
        sub["canceled_at"] = sub["ended_at"] = state.now()
        state.emit(account, "customer.subscription.deleted", sub, previous)
    else:
        state.emit(account, "customer.subscription.updated", sub, previous)


def _set_period(sub: dict[str, Any], start: int) -> None:
    price = sub["items"]["data"][0]["price"]["recurring"]
    end = add_interval(start, price["interval"], int(price["interval_count"]))
    sub["current_period_start"], sub["current_period_end"] = start, end
    for item in sub["items"]["data"]:
        item["current_period_start"], item["current_period_end"] = start, end


def subscription_create(
    state: StripeState,
    account: str,
    *,
    customer: dict[str, Any],
    items: list[tuple[dict[str, Any], int]],
    trial_end: int | None = None,
    default_payment_method: str | None = None,
    application_fee_percent: float | None = None,
    metadata: dict[str, str] | None = None,
    on_session: bool = False,
) -> tuple[dict[str, Any], StripeError | None]:
    now = state.now()
    sub_id = new_id("sub")
    sub: dict[str, Any] = {
        "id": sub_id,
        "object": "subscription",
        "customer": customer["id"],
        "status": "incomplete",
        "currency": items[0][0]["currency"],
        "created": now,
        "start_date": now,
        "billing_cycle_anchor": trial_end or now,
        "cancel_at_period_end": False,
        "cancel_at": None,
        "canceled_at": None,
        "ended_at": None,
        "collection_method": "charge_automatically",
        "default_payment_method": default_payment_method,
        "application_fee_percent": application_fee_percent,
        "latest_invoice": None,
        "livemode": False,
        "metadata": metadata or {},
        "trial_start": now if trial_end else None,
        "trial_end": trial_end,
        "items": {
            "object": "list",
            "data": [new_item(sub_id, price, qty, now) for price, qty in items],
            "has_more": False,
            "total_count": len(items),
            "url": f"/v1/subscription_items?subscription={sub_id}",
        },
    }
    if trial_end:
        sub["status"] = "trialing"
        sub["current_period_start"], sub["current_period_end"] = now, trial_end
        for item in sub["items"]["data"]:
            item["current_period_start"], item["current_period_end"] = now, trial_end
    else:
        _set_period(sub, now)
    state.store.add(account, sub)
    if trial_end:
        state.emit(account, "customer.subscription.created", sub)
        lines = [
            _line(
                state,
                0,
                sub["currency"],
                f"Trial period for {product_name(state, account, p)}",
                (now, trial_end),
                p,
                q,
            )
            for p, q in items
        ]
        invoice_create(state, account, sub, "subscription_create", lines)
        return sub, None
    sub["_creating"] = True
    invoice = invoice_create(
        state, account, sub, "subscription_create", _period_lines(state, account, sub)
    )
    error = invoice_pay(state, account, invoice, on_session=on_session)
    if error is None:
        set_status(state, account, sub, "active")
    del sub["_creating"]
    state.emit(account, "customer.subscription.created", sub)
    return sub, error


def new_item(sub_id: str, price: dict[str, Any], quantity: int, now: int) -> dict[str, Any]:
    return {
        "id": new_id("si"),
        "object": "subscription_item",
        "created": now,
        "metadata": {},
        "price": price,
        "quantity": quantity,
        "subscription": sub_id,
    }


def product_name(state: StripeState, account: str, price: dict[str, Any]) -> str:
    product = state.store.find(account, price["product"], "product")
    return str(product["name"] if product else price["product"])


def _period_lines(state: StripeState, account: str, sub: dict[str, Any]) -> list[dict[str, Any]]:
    period = (sub["current_period_start"], sub["current_period_end"])
    return [
        _line(
            state,
            item_amount(item),
            sub["currency"],
            f"{item['quantity']} x {product_name(state, account, item['price'])}",
            period,
            item["price"],
            item["quantity"],
        )
        for item in sub["items"]["data"]
    ]


def invoice_create(
    state: StripeState,
    account: str,
    sub: dict[str, Any],
    reason: str,
    lines: list[dict[str, Any]],
) -> dict[str, Any]:
    """A finalized invoice: pending invoice items are swept in; a zero total is paid at once."""
    now = state.now()
    invoice_id = new_id("in")
    for pending in state.store.all(account, "invoiceitem"):
        if pending["subscription"] == sub["id"] and pending["invoice"] is None:
            pending["invoice"] = invoice_id
            lines.append(
                _line(
                    state,
                    pending["amount"],
                    pending["currency"],
                    pending["description"],
                    (pending["period"]["start"], pending["period"]["end"]),
                    proration=True,
                )
            )
    total = sum(line["amount"] for line in lines)
    fee = None
    if sub.get("application_fee_percent") is not None and total > 0:
        fee = round(total * float(sub["application_fee_percent"]) / 100)
    count = len(state.store.all(account, "invoice")) + 1
    invoice: dict[str, Any] = {
        "id": invoice_id,
        "object": "invoice",
        "customer": sub["customer"],
        "subscription": sub["id"],
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"subscription": sub["id"]},
        },
        "billing_reason": reason,
        "collection_method": "charge_automatically",
        "currency": sub["currency"],
        "created": now,
        "period_start": lines[0]["period"]["start"] if lines else now,
        "period_end": lines[0]["period"]["end"] if lines else now,
        "number": f"STANDIN-{count:04d}",
        "status": "open",
        "subtotal": total,
        "total": total,
        "amount_due": max(total, 0),
        "amount_paid": 0,
        "amount_remaining": max(total, 0),
        "application_fee_amount": fee,
        "attempt_count": 0,
        "attempted": False,
        "next_payment_attempt": None,
        "paid": False,
        "payment_intent": None,
        "charge": None,
        "hosted_invoice_url": state.url(f"/i/{invoice_id}"),
        "invoice_pdf": state.url(f"/i/{invoice_id}/pdf"),
        "lines": {
            "object": "list",
            "data": lines,
            "has_more": False,
            "url": f"/v1/invoices/{invoice_id}/lines",
        },
        "livemode": False,
        "metadata": {},
        "status_transitions": {"finalized_at": now, "paid_at": None, "voided_at": None},
        "_retries": 0,
    }
    state.store.add(account, invoice)
    sub["latest_invoice"] = invoice_id
    state.emit(account, "invoice.created", invoice)
    state.emit(account, "invoice.finalized", invoice)
    if invoice["amount_due"] == 0:
        _mark_paid(state, account, invoice)
    return invoice


def invoice_draft(
    state: StripeState,
    account: str,
    *,
    customer: str,
    currency: str,
    collection_method: str,
    due_date: int | None,
    application_fee_amount: int | None,
    description: str | None,
    meta: dict[str, str],
) -> dict[str, Any]:
    """A one-off draft invoice (no subscription): no number and no hosted page until it is
    finalized; its items are added while it is a draft."""
    now = state.now()
    invoice_id = new_id("in")
    invoice: dict[str, Any] = {
        "id": invoice_id,
        "object": "invoice",
        "customer": customer,
        "customer_email": None,
        "subscription": None,
        "parent": None,
        "billing_reason": "manual",
        "collection_method": collection_method,
        "currency": currency,
        "created": now,
        "description": description,
        "due_date": due_date,
        "period_start": now,
        "period_end": now,
        "number": None,
        "status": "draft",
        "subtotal": 0,
        "total": 0,
        "amount_due": 0,
        "amount_paid": 0,
        "amount_remaining": 0,
        "application_fee_amount": application_fee_amount,
        "attempt_count": 0,
        "attempted": False,
        "next_payment_attempt": None,
        "paid": False,
        "payment_intent": None,
        "charge": None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "lines": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/invoices/{invoice_id}/lines",
        },
        "livemode": False,
        "metadata": meta,
        "status_transitions": {"finalized_at": None, "paid_at": None, "voided_at": None},
        "_retries": 0,
    }
    state.store.add(account, invoice)
    state.emit(account, "invoice.created", invoice)
    return invoice


def invoice_add_item(invoice: dict[str, Any], item: dict[str, Any]) -> None:
    item["invoice"] = invoice["id"]
    line = {
        "id": new_id("il"),
        "object": "line_item",
        "amount": item["amount"],
        "currency": item["currency"],
        "description": item["description"],
        "period": dict(item["period"]),
        "price": None,
        "pricing": None,
        "proration": False,
        "quantity": item["quantity"],
    }
    invoice["lines"]["data"].append(line)
    total = sum(entry["amount"] for entry in invoice["lines"]["data"])
    invoice.update(subtotal=total, total=total, amount_due=max(total, 0))
    invoice["amount_remaining"] = invoice["amount_due"]


def invoice_finalize(state: StripeState, account: str, invoice: dict[str, Any]) -> None:
    """Draft → open: a number and a hosted page; a zero total is paid at once."""
    fee = invoice["application_fee_amount"]
    if fee is not None and fee > invoice["amount_due"]:
        raise invalid(
            "The application fee amount cannot exceed the invoice's amount due.",
            "application_fee_amount",
        )
    count = len([i for i in state.store.all(account, "invoice") if i["number"]]) + 1
    invoice.update(
        status="open",
        number=f"STANDIN-{count:04d}",
        hosted_invoice_url=state.url(f"/i/{invoice['id']}"),
        invoice_pdf=state.url(f"/i/{invoice['id']}/pdf"),
    )
    invoice["status_transitions"]["finalized_at"] = state.now()
    state.emit(account, "invoice.finalized", invoice)
    if invoice["amount_due"] == 0:
        _mark_paid(state, account, invoice)


def _mark_paid(state: StripeState, account: str, invoice: dict[str, Any]) -> None:
    invoice.update(
        status="paid",
        paid=True,
        amount_paid=invoice["amount_due"],
        amount_remaining=0,
        next_payment_attempt=None,
    )
    invoice["status_transitions"]["paid_at"] = state.now()
    state.emit(account, "invoice.paid", invoice)
    state.emit(account, "invoice.payment_succeeded", invoice)


def invoice_pay(
    state: StripeState,
    account: str,
    invoice: dict[str, Any],
    *,
    pm_id: str | None = None,
    automatic: bool = False,
    on_session: bool = False,
) -> StripeError | None:
    """One attempt at an open invoice; moves the subscription's status with the outcome."""
    sub = state.store.find(account, invoice["subscription"], "subscription")
    customer = state.store.get(account, invoice["customer"], "customer")
    pm_id = (
        pm_id
        or (sub or {}).get("default_payment_method")
        or customer["invoice_settings"]["default_payment_method"]
    )
    intent, error = payments.charge(
        state,
        account,
        customer=customer["id"],
        amount=invoice["amount_due"],
        currency=invoice["currency"],
        pm_id=pm_id,
        invoice=invoice["id"],
        fee_amount=invoice["application_fee_amount"],
        on_session=on_session,
    )
    invoice.update(
        attempt_count=invoice["attempt_count"] + 1,
        attempted=True,
        payment_intent=intent["id"],
        charge=intent["latest_charge"],
    )
    if error is None:
        _mark_paid(state, account, invoice)
        if sub and sub["status"] in ("past_due", "incomplete", "trialing", "unpaid"):
            set_status(state, account, sub, "active")
        return None
    first_invoice = invoice["billing_reason"] == "subscription_create"
    # A sent invoice waits for its customer: Stripe retries only what it charges by itself.
    retried = invoice["collection_method"] == "charge_automatically"
    if retried and (automatic or not first_invoice):
        schedule = state.config.retry_schedule_days
        anchor = invoice.setdefault("_first_failure", state.now())
        if invoice["_retries"] < len(schedule):
            invoice["next_payment_attempt"] = anchor + schedule[invoice["_retries"]] * DAY
        else:
            invoice["next_payment_attempt"] = None
    state.emit(account, "invoice.payment_failed", invoice)
    if sub is None:
        return error
    if first_invoice:
        set_status(state, account, sub, "incomplete")
    elif invoice["next_payment_attempt"] is None and automatic:
        set_status(state, account, sub, "canceled")
    else:
        set_status(state, account, sub, "past_due")
    return error


def subscription_cancel(state: StripeState, account: str, sub: dict[str, Any]) -> None:
    set_status(state, account, sub, "canceled")


# -- time passing ----------------------------------------------------------------------
def tick(state: StripeState) -> None:
    """Run everything due by now: trial ends, renewals, cancellations, retries, expiries."""
    now = state.now()
    for account, invoice in list(state.store.every("invoice")):
        due = invoice["next_payment_attempt"]
        if invoice["status"] == "open" and due is not None and due <= now:
            invoice["_retries"] += 1
            invoice_pay(state, account, invoice, automatic=True)
    for account, sub in list(state.store.every("subscription")):
        for _ in range(120):  # catch up at most ten years of monthly periods per tick
            if not _advance(state, account, sub, now):
                break


def _advance(state: StripeState, account: str, sub: dict[str, Any], now: int) -> bool:
    status = sub["status"]
    if status == "incomplete" and now >= sub["created"] + INCOMPLETE_EXPIRES:
        invoice = state.store.find(account, sub["latest_invoice"], "invoice")
        if invoice and invoice["status"] == "open":
            invoice.update(status="void", amount_remaining=0)
        set_status(state, account, sub, "incomplete_expired")
        return False
    if status not in ("trialing", "active", "past_due") or now < sub["current_period_end"]:
        return False
    if sub["cancel_at_period_end"]:
        set_status(state, account, sub, "canceled")
        return False
    previous = {
        "current_period_start": sub["current_period_start"],
        "current_period_end": sub["current_period_end"],
    }
    _set_period(sub, sub["current_period_end"])
    state.emit(account, "customer.subscription.updated", sub, previous)
    invoice = invoice_create(
        state, account, sub, "subscription_cycle", _period_lines(state, account, sub)
    )
    if invoice["status"] == "open":
        invoice_pay(state, account, invoice, automatic=True)
    elif status == "trialing":
        set_status(state, account, sub, "active")
    return True
