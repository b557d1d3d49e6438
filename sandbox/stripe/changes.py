"""Changing a subscription: items (plan changes) with proration, cancel at period end.

Proration as Stripe computes it by default: for the rest of the current period, a credit for
the unused time on the old price and a charge for the remaining time on the new one, each
``amount x seconds_left / period_seconds``. ``create_prorations`` leaves them as pending
invoice items for the next invoice; ``always_invoice`` invoices and charges them now;
``none`` skips them. A trialing subscription is not prorated (nothing was charged).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sandbox.stripe import billing
from sandbox.stripe.errors import StripeError, invalid
from sandbox.stripe.state import StripeState
from sandbox.stripe.store import new_id

PRORATION_BEHAVIORS = ("create_prorations", "always_invoice", "none")


def subscription_change_items(
    state: StripeState,
    account: str,
    sub: dict[str, Any],
    changes: list[tuple[str | None, dict[str, Any] | None, int | None, bool]],
    proration_behavior: str = "create_prorations",
) -> StripeError | None:
    """``changes``: (item id or None for a new item, new price, new quantity, deleted)."""
    if proration_behavior not in PRORATION_BEHAVIORS:
        raise invalid(
            f"Invalid proration_behavior: must be one of {', '.join(PRORATION_BEHAVIORS)}",
            "proration_behavior",
        )
    now = state.now()
    items = sub["items"]["data"]
    previous = {"items": {"data": [dict(item) for item in items]}}
    start, end = sub["current_period_start"], sub["current_period_end"]
    fraction = max(0.0, (end - now) / (end - start)) if end > start else 0.0
    prorate = proration_behavior != "none" and sub["status"] in ("active", "past_due")
    adjustments: list[tuple[int, str]] = []
    for item_id, price, quantity, deleted in changes:
        old = next((item for item in items if item["id"] == item_id), None)
        if item_id and old is None:
            raise invalid(f"Invalid subscription item: '{item_id}'", "items")
        if price and price["currency"] != sub["currency"]:
            raise invalid("All prices on a subscription must have the same currency.", "items")
        if price and price.get("recurring") is None:
            raise invalid("The price specified is not recurring.", "items")
        if old is not None:
            adjustments.append(
                (
                    -round(billing.item_amount(old) * fraction),
                    f"Unused time on {_name(state, account, old['price'])}",
                )
            )
            if deleted:
                items.remove(old)
                continue
            old["price"] = price or old["price"]
            old["quantity"] = quantity if quantity is not None else old["quantity"]
            new = old
        else:
            if price is None:
                raise invalid("Missing required param: items[price].", "items")
            new = billing.new_item(sub["id"], price, quantity or 1, now)
            new.update(current_period_start=start, current_period_end=end)
            items.append(new)
        adjustments.append(
            (
                round(billing.item_amount(new) * fraction),
                f"Remaining time on {_name(state, account, new['price'])}",
            )
        )
    if not items:
        raise invalid("A subscription must have at least one active plan.", "items")
    sub["items"]["total_count"] = len(items)
    state.emit(account, "customer.subscription.updated", sub, previous)
    if not prorate:
        return None
    stamp = datetime.fromtimestamp(now, UTC).strftime("%d %b %Y")
    for amount, label in adjustments:
        if amount:
            state.store.add(
                account,
                {
                    "id": new_id("ii"),
                    "object": "invoiceitem",
                    "customer": sub["customer"],
                    "subscription": sub["id"],
                    "amount": amount,
                    "currency": sub["currency"],
                    "description": f"{label} after {stamp}",
                    "proration": True,
                    "invoice": None,
                    "date": now,
                    "period": {"start": now, "end": end},
                    "livemode": False,
                    "metadata": {},
                },
            )
    if proration_behavior == "always_invoice":
        invoice = billing.invoice_create(state, account, sub, "subscription_update", [])
        if invoice["status"] == "open":
            return billing.invoice_pay(state, account, invoice)
    return None


def set_cancel_at_period_end(
    state: StripeState, account: str, sub: dict[str, Any], value: bool
) -> None:
    if sub["cancel_at_period_end"] == value:
        return
    previous = {"cancel_at_period_end": sub["cancel_at_period_end"], "cancel_at": sub["cancel_at"]}
    sub["cancel_at_period_end"] = value
    sub["cancel_at"] = sub["current_period_end"] if value else None
    state.emit(account, "customer.subscription.updated", sub, previous)


def _name(state: StripeState, account: str, price: dict[str, Any]) -> str:
    return billing.product_name(state, account, price)
