"""Checkout Sessions and billing portal sessions (their pages are in ``pages/``)."""

from __future__ import annotations

from typing import Any

from sandbox.stripe.api.common import Call, Routes, one_of
from sandbox.stripe.api.connect import require_charges_enabled
from sandbox.stripe.api.subscriptions import fee_percent
from sandbox.stripe.errors import invalid
from sandbox.stripe.store import as_int, metadata, new_id

SESSION_LIFETIME = 24 * 3600
CHECKOUT_FIELDS = (
    "mode",
    "line_items",
    "success_url",
    "cancel_url",
    "customer",
    "customer_email",
    "client_reference_id",
    "metadata",
    "subscription_data",
    "payment_intent_data",
    "payment_method_types",
    "allow_promotion_codes",
    "billing_address_collection",
    "locale",
    "expires_at",
    "ui_mode",
)


def _url(call: Call, name: str, required: bool) -> str | None:
    url = call.text(name)
    if not url:
        if required:
            raise invalid(f"Missing required param: {name}.", name, "parameter_missing")
        return None
    if not url.startswith(("http://", "https://")):
        raise invalid(f"Not a valid URL: {url}", name, "url_invalid")
    return url


def checkout_create(call: Call) -> dict[str, Any]:
    call.check(CHECKOUT_FIELDS, required=("mode",))
    require_charges_enabled(call)
    mode = one_of(call.params["mode"], ("payment", "subscription"), "mode")
    lines, currencies, total = [], set(), 0
    for index, raw in enumerate(call.array("line_items")):
        if not isinstance(raw, dict) or not raw.get("price"):
            raise invalid(
                f"Missing required param: line_items[{index}][price].",
                f"line_items[{index}][price]",
                "parameter_missing",
            )
        price = call.get(str(raw["price"]), "price", f"line_items[{index}][price]")
        quantity = as_int(raw.get("quantity") or 1, f"line_items[{index}][quantity]")
        if mode == "subscription" and price["recurring"] is None:
            raise invalid(
                "You must specify at least one recurring price in `subscription` mode.",
                f"line_items[{index}][price]",
            )
        if mode == "payment" and price["recurring"] is not None:
            raise invalid(
                "You specified `payment` mode but passed a recurring price. Either "
                "switch to `subscription` mode or use only one-time prices.",
                f"line_items[{index}][price]",
            )
        lines.append({"price": price["id"], "quantity": quantity})
        currencies.add(price["currency"])
        total += int(price["unit_amount"]) * quantity
    if not lines:
        raise invalid("Missing required param: line_items.", "line_items", "parameter_missing")
    if len(currencies) > 1:
        raise invalid("All line items must use the same currency.", "line_items")
    customer = call.text("customer")
    if customer:
        call.get(customer, "customer", "customer")
    sub_data = call.mapping("subscription_data")
    if sub_data and mode != "subscription":
        raise invalid(
            "subscription_data can only be used in subscription mode.", "subscription_data"
        )
    trial_days = as_int(
        sub_data.get("trial_period_days") or 0, "subscription_data[trial_period_days]"
    )
    if trial_days and not 1 <= trial_days <= 730:
        raise invalid(
            "trial_period_days must be between 1 and 730.", "subscription_data[trial_period_days]"
        )
    pi_data = call.mapping("payment_intent_data")
    fee_amount = pi_data.get("application_fee_amount")
    now = call.state.now()
    session_id = new_id("cs_test", 58)
    return call.state.store.add(
        call.account,
        {
            "id": session_id,
            "object": "checkout.session",
            "created": now,
            "expires_at": now + SESSION_LIFETIME,
            "mode": mode,
            "status": "open",
            "payment_status": "unpaid",
            "livemode": False,
            "currency": currencies.pop(),
            "amount_subtotal": total,
            "amount_total": total,
            "success_url": _url(
                call, "success_url", required=call.params.get("ui_mode") != "embedded"
            ),
            "cancel_url": _url(call, "cancel_url", required=False),
            "customer": customer,
            "customer_email": call.text("customer_email"),
            "customer_details": None,
            "client_reference_id": call.text("client_reference_id"),
            "metadata": metadata(call.params.get("metadata", {})),
            "subscription": None,
            "invoice": None,
            "payment_intent": None,
            "url": call.state.url(f"/c/pay/{session_id}"),
            "_line_items": lines,
            "_fee_amount": as_int(fee_amount, "payment_intent_data[application_fee_amount]")
            if fee_amount not in (None, "")
            else None,
            "_subscription_data": {
                "trial_seconds": trial_days * 86_400,
                "application_fee_percent": fee_percent(
                    sub_data.get("application_fee_percent"),
                    "subscription_data[application_fee_percent]",
                ),
                "metadata": metadata(sub_data.get("metadata") or {}),
            },
        },
    )


def checkout_expire(call: Call, id: str) -> dict[str, Any]:  # noqa: A002
    session = call.get(id, "checkout.session")
    if session["status"] != "open":
        raise invalid(
            f'Only Checkout Sessions with a status in ["open"] can be expired. '
            f'This Checkout Session has a status of "{session["status"]}".'
        )
    session["status"] = "expired"
    session["url"] = None
    call.state.emit(call.account, "checkout.session.expired", session)
    return session


def checkout_retrieve(call: Call, id: str) -> dict[str, Any]:  # noqa: A002
    call.check(())
    return call.get(id, "checkout.session")


def checkout_list(call: Call) -> dict[str, Any]:
    call.check(("limit", "starting_after", "ending_before", "customer", "subscription", "status"))
    customer, status = call.text("customer"), call.text("status")
    return call.list_of(
        "checkout.session",
        lambda s: (
            (customer is None or s["customer"] == customer)
            and (status is None or s["status"] == status)
        ),
    )


def checkout_line_items(call: Call, id: str) -> dict[str, Any]:  # noqa: A002
    session = call.get(id, "checkout.session")
    data: list[dict[str, Any]] = []
    for line in session["_line_items"]:
        price = call.get(line["price"], "price")
        amount = int(price["unit_amount"]) * line["quantity"]
        data.append(
            {
                "id": f"li_{session['id'][-20:]}{len(data)}",
                "object": "item",
                "amount_subtotal": amount,
                "amount_total": amount,
                "currency": price["currency"],
                "quantity": line["quantity"],
                "price": call.state.store.render(call.account, price),
                "description": price["nickname"] or price["product"],
            }
        )
    return {"object": "list", "data": data, "has_more": False, "url": call.path}


def portal_create(call: Call) -> dict[str, Any]:
    call.check(
        ("customer", "return_url", "configuration", "locale", "flow_data"), required=("customer",)
    )
    customer = call.get(str(call.params["customer"]), "customer", "customer")
    session_id = new_id("bps", 24)
    return call.state.store.add(
        call.account,
        {
            "id": session_id,
            "object": "billing_portal.session",
            "created": call.state.now(),
            "customer": customer["id"],
            "return_url": _url(call, "return_url", required=False),
            "livemode": False,
            "locale": call.text("locale"),
            "configuration": None,
            "flow": None,
            "on_behalf_of": None,
            "url": call.state.url(f"/p/session/{session_id}"),
        },
    )


ROUTES: Routes = [
    ("POST", "/v1/checkout/sessions", checkout_create),
    ("GET", "/v1/checkout/sessions", checkout_list),
    ("GET", "/v1/checkout/sessions/{id}", checkout_retrieve),
    ("POST", "/v1/checkout/sessions/{id}/expire", checkout_expire),
    ("GET", "/v1/checkout/sessions/{id}/line_items", checkout_line_items),
    ("POST", "/v1/billing_portal/sessions", portal_create),
]
