"""Subscriptions and invoices."""

from __future__ import annotations

from typing import Any

from sandbox.stripe import billing, changes, payments
from sandbox.stripe.api.common import Call, Routes, one_of
from sandbox.stripe.api.connect import require_charges_enabled
from sandbox.stripe.errors import invalid
from sandbox.stripe.store import as_bool, as_int, metadata

SUB_FIELDS = (
    "customer",
    "items",
    "trial_period_days",
    "trial_end",
    "default_payment_method",
    "application_fee_percent",
    "metadata",
    "payment_behavior",
    "proration_behavior",
    "cancel_at_period_end",
    "collection_method",
    "off_session",
)


def _price(call: Call, ref: Any, param: str) -> dict[str, Any]:
    if not ref:
        raise invalid(f"Missing required param: {param}.", param, "parameter_missing")
    price = call.get(str(ref), "price", param)
    if price["recurring"] is None:
        raise invalid(f"The price specified ({price['id']}) is not recurring.", param)
    if not price["active"]:
        raise invalid(f"The price specified ({price['id']}) is inactive.", param)
    return price


def fee_percent(value: Any, param: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        percent = float(value)
    except ValueError:
        raise invalid(f"Invalid decimal: {value}", param, "parameter_invalid_decimal") from None
    if not 0 <= percent <= 100:
        raise invalid("application_fee_percent must be between 0 and 100.", param)
    return percent


def trial_end_from(call: Call, days: Any, end: Any) -> int | None:
    if end not in (None, "", "now"):
        value = as_int(end, "trial_end")
        if value <= call.state.now():
            raise invalid(
                "Invalid timestamp: must be an integer Unix timestamp in the future.", "trial_end"
            )
        return value
    if days in (None, ""):
        return None
    count = as_int(days, "trial_period_days")
    if not 0 <= count <= 730:
        raise invalid("trial_period_days must be between 0 and 730.", "trial_period_days")
    return call.state.now() + count * billing.DAY if count else None


def subscription_create(call: Call) -> dict[str, Any]:
    call.check(SUB_FIELDS, required=("customer", "items"))
    require_charges_enabled(call)
    customer = call.get(str(call.params["customer"]), "customer", "customer")
    items = []
    for index, raw in enumerate(call.array("items")):
        if not isinstance(raw, dict):
            raise invalid("Invalid hash", f"items[{index}]", "parameter_invalid_hash")
        quantity = as_int(raw.get("quantity") or 1, f"items[{index}][quantity]")
        items.append((_price(call, raw.get("price"), f"items[{index}][price]"), quantity))
    if not items:
        raise invalid("Missing required param: items.", "items", "parameter_missing")
    if len({price["currency"] for price, _ in items}) > 1:
        raise invalid("All prices on a subscription must have the same currency.", "items")
    default_pm = call.text("default_payment_method")
    if default_pm:
        pm = payments.resolve(call.state, call.account, default_pm, "default_payment_method")
        if pm["customer"] is None:
            payments.attach(call.state, call.account, pm, customer["id"])
        default_pm = pm["id"]
    behavior = one_of(
        call.params.get("payment_behavior", "allow_incomplete"),
        ("allow_incomplete", "error_if_incomplete", "default_incomplete"),
        "payment_behavior",
    )
    sub, error = billing.subscription_create(
        call.state,
        call.account,
        customer=customer,
        items=items,
        trial_end=trial_end_from(
            call, call.params.get("trial_period_days"), call.params.get("trial_end")
        ),
        default_payment_method=default_pm,
        application_fee_percent=fee_percent(
            call.params.get("application_fee_percent"), "application_fee_percent"
        ),
        metadata=metadata(call.params.get("metadata", {})),
    )
    if error is not None and behavior == "error_if_incomplete":
        raise error
    return sub


def subscription_update(call: Call, id: str) -> dict[str, Any]:  # noqa: A002
    call.check(SUB_FIELDS)
    sub = call.get(id, "subscription")
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise invalid(
            f"A canceled subscription can only update its cancellation_details and "
            f"metadata (subscription {id})."
        )
    if "metadata" in call.params:
        before = dict(sub["metadata"])
        sub["metadata"] = metadata(call.params["metadata"], sub["metadata"])
        if before != sub["metadata"]:
            call.state.emit(
                call.account, "customer.subscription.updated", sub, {"metadata": before}
            )
    if "default_payment_method" in call.params:
        pm = payments.resolve(
            call.state,
            call.account,
            str(call.params["default_payment_method"]),
            "default_payment_method",
        )
        sub["default_payment_method"] = pm["id"]
    if "application_fee_percent" in call.params:
        sub["application_fee_percent"] = fee_percent(
            call.params["application_fee_percent"], "application_fee_percent"
        )
    if "cancel_at_period_end" in call.params:
        flag = as_bool(call.params["cancel_at_period_end"], "cancel_at_period_end")
        changes.set_cancel_at_period_end(call.state, call.account, sub, flag)
    if "items" in call.params:
        wanted = []
        for index, raw in enumerate(call.array("items")):
            if not isinstance(raw, dict):
                raise invalid("Invalid hash", f"items[{index}]", "parameter_invalid_hash")
            price = (
                _price(call, raw["price"], f"items[{index}][price]") if raw.get("price") else None
            )
            quantity = (
                as_int(raw["quantity"], f"items[{index}][quantity]")
                if raw.get("quantity")
                else None
            )
            deleted = as_bool(raw.get("deleted", False), f"items[{index}][deleted]")
            wanted.append((raw.get("id"), price, quantity, deleted))
        error = changes.subscription_change_items(
            call.state,
            call.account,
            sub,
            wanted,
            str(call.params.get("proration_behavior", "create_prorations")),
        )
        if error is not None and call.params.get("payment_behavior") == "error_if_incomplete":
            raise error
    return sub


def subscription_cancel(call: Call, id: str) -> dict[str, Any]:  # noqa: A002
    call.check(("invoice_now", "prorate", "cancellation_details"))
    sub = call.get(id, "subscription")
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise invalid(f"The subscription {id} is already canceled.", "id")
    billing.subscription_cancel(call.state, call.account, sub)
    return sub


def subscription_list(call: Call) -> dict[str, Any]:
    call.check(("limit", "starting_after", "ending_before", "customer", "status", "price"))
    customer, status, price = call.text("customer"), call.text("status"), call.text("price")

    def wanted(sub: dict[str, Any]) -> bool:
        # Canceled subscriptions are left out unless asked for, as on Stripe.
        if status is None and sub["status"] in ("canceled", "incomplete_expired"):
            return False
        if status not in (None, "all", sub["status"]):
            return False
        if price and all(item["price"]["id"] != price for item in sub["items"]["data"]):
            return False
        return customer is None or sub["customer"] == customer

    return call.list_of("subscription", wanted)


def invoice_list(call: Call) -> dict[str, Any]:
    call.check(("limit", "starting_after", "ending_before", "customer", "subscription", "status"))
    customer, sub, status = call.text("customer"), call.text("subscription"), call.text("status")
    return call.list_of(
        "invoice",
        lambda i: (
            (customer is None or i["customer"] == customer)
            and (sub is None or i["subscription"] == sub)
            and (status is None or i["status"] == status)
        ),
    )


def invoice_pay(call: Call, id: str) -> dict[str, Any]:  # noqa: A002
    call.check(("payment_method", "off_session", "paid_out_of_band"))
    invoice = call.get(id, "invoice")
    if invoice["status"] != "open":
        raise invalid(
            "Invoice is already paid"
            if invoice["status"] == "paid"
            else f"You can only pay an open invoice (this one is {invoice['status']}).",
            code="invoice_not_open" if invoice["status"] != "paid" else "invoice_already_paid",
        )
    pm_id = None
    if call.params.get("payment_method"):
        pm_id = payments.resolve(
            call.state, call.account, str(call.params["payment_method"]), "payment_method"
        )["id"]
    error = billing.invoice_pay(call.state, call.account, invoice, pm_id=pm_id)
    if error is not None:
        raise error
    return invoice


def invoice_items(call: Call) -> dict[str, Any]:
    call.check(("limit", "starting_after", "ending_before", "customer", "pending"))
    customer = call.text("customer")
    pending = as_bool(call.params["pending"], "pending") if "pending" in call.params else None
    return call.list_of(
        "invoiceitem",
        lambda i: (
            (customer is None or i["customer"] == customer)
            and (pending is None or (i["invoice"] is None) == pending)
        ),
    )


def retrieve(object_type: str) -> Any:
    def handler(call: Call, id: str) -> dict[str, Any]:  # noqa: A002
        call.check(())
        return call.get(id, object_type)

    return handler


ROUTES: Routes = [
    ("POST", "/v1/subscriptions", subscription_create),
    ("GET", "/v1/subscriptions", subscription_list),
    ("GET", "/v1/subscriptions/{id}", retrieve("subscription")),
    ("POST", "/v1/subscriptions/{id}", subscription_update),
    ("DELETE", "/v1/subscriptions/{id}", subscription_cancel),
    ("GET", "/v1/invoices", invoice_list),
    ("GET", "/v1/invoices/{id}", retrieve("invoice")),
    ("POST", "/v1/invoices/{id}/pay", invoice_pay),
    ("GET", "/v1/invoiceitems", invoice_items),
]
