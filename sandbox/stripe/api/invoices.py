"""One-off invoices (not from a subscription), as Stripe's Invoicing API makes them.

A draft is created for a customer (``POST /v1/invoices``), invoice items are added to it
(``POST /v1/invoiceitems`` with ``invoice``), it is finalized (``/finalize``: a number, a hosted
page, status ``open``) and, with ``collection_method=send_invoice``, e-mailed to the customer
(``/send``). The customer pays on the hosted page; ``invoice.paid`` follows. On a connected
account ``application_fee_amount`` is the platform's cut of the payment.
"""

from __future__ import annotations

from typing import Any

from sandbox.stripe import billing
from sandbox.stripe.api.common import Call, Routes, one_of
from sandbox.stripe.api.connect import require_charges_enabled
from sandbox.stripe.errors import invalid, missing_param
from sandbox.stripe.store import PLATFORM, as_bool, as_int, metadata, new_id

INVOICE_FIELDS = (
    "customer",
    "collection_method",
    "days_until_due",
    "due_date",
    "currency",
    "description",
    "metadata",
    "auto_advance",
    "application_fee_amount",
    "pending_invoice_items_behavior",
)
ITEM_FIELDS = ("customer", "invoice", "amount", "currency", "description", "metadata", "quantity")


def _currency(value: Any, param: str) -> str:
    code = str(value or "").lower()
    if len(code) != 3 or not code.isalpha():
        raise invalid(f"Invalid currency: {value}", param, "parameter_invalid_string")
    return code


def invoice_create(call: Call) -> dict[str, Any]:
    call.check(INVOICE_FIELDS, required=("customer",))
    customer = call.get(str(call.params["customer"]), "customer", "customer")
    method = one_of(
        call.params.get("collection_method", "charge_automatically"),
        ("charge_automatically", "send_invoice"),
        "collection_method",
    )
    days = call.integer("days_until_due")
    due_date = call.integer("due_date")
    if method == "send_invoice" and days is None and due_date is None:
        raise invalid(
            "Invoices with `collection_method=send_invoice` must have a `days_until_due` or "
            "`due_date`.",
            "days_until_due",
        )
    if method == "charge_automatically" and (days is not None or due_date is not None):
        raise invalid(
            "Invoices with `collection_method=charge_automatically` cannot have a due date.",
            "days_until_due",
        )
    if days is not None and not 0 <= days <= 365 * 5:
        raise invalid("days_until_due must be between 0 and 1825.", "days_until_due")
    fee = call.integer("application_fee_amount")
    if fee is not None:
        if call.account == PLATFORM:
            raise invalid(
                "Can only apply an application_fee_amount when the request is made on behalf "
                "of another account (using an OAuth key, the Stripe-Account header, or the "
                "on_behalf_of parameter).",
                "application_fee_amount",
            )
        if fee < 0:
            raise invalid("application_fee_amount must be non-negative.", "application_fee_amount")
    if call.account != PLATFORM:
        require_charges_enabled(call)
    now = call.state.now()
    currency = _currency(
        call.params.get("currency") or customer.get("currency") or "usd", "currency"
    )
    invoice = billing.invoice_draft(
        call.state,
        call.account,
        customer=customer["id"],
        currency=currency,
        collection_method=method,
        due_date=due_date if due_date is not None else (now + days * billing.DAY if days else now),
        application_fee_amount=fee,
        description=call.text("description"),
        meta=metadata(call.params.get("metadata", {})),
    )
    invoice["auto_advance"] = as_bool(call.params.get("auto_advance", False), "auto_advance")
    if method == "charge_automatically":
        invoice["due_date"] = None
    if call.params.get("pending_invoice_items_behavior", "exclude") == "include":
        for pending in call.state.store.all(call.account, "invoiceitem"):
            if pending["customer"] == customer["id"] and pending["invoice"] is None:
                billing.invoice_add_item(invoice, pending)
    return invoice


def item_create(call: Call) -> dict[str, Any]:
    call.check(ITEM_FIELDS, required=("customer",))
    customer = call.get(str(call.params["customer"]), "customer", "customer")
    if call.params.get("amount") in (None, ""):
        raise missing_param("amount")
    amount = as_int(call.params["amount"], "amount")
    quantity = as_int(call.params.get("quantity") or 1, "quantity")
    currency = _currency(call.params.get("currency"), "currency")
    invoice = None
    if call.params.get("invoice"):
        invoice = call.get(str(call.params["invoice"]), "invoice", "invoice")
        if invoice["status"] != "draft":
            raise invalid(
                f"You can only add invoice items to draft invoices (invoice {invoice['id']} is "
                f"{invoice['status']}).",
                "invoice",
                "invoice_not_editable",
            )
        if invoice["customer"] != customer["id"]:
            raise invalid("The invoice belongs to a different customer.", "invoice")
        if invoice["currency"] != currency:
            raise invalid(
                f"The currency of the invoice item ({currency}) must match the currency of "
                f"the invoice ({invoice['currency']}).",
                "currency",
            )
    now = call.state.now()
    item = call.state.store.add(
        call.account,
        {
            "id": new_id("ii"),
            "object": "invoiceitem",
            "customer": customer["id"],
            "amount": amount * quantity,
            "unit_amount": amount,
            "quantity": quantity,
            "currency": currency,
            "description": call.text("description"),
            "date": now,
            "period": {"start": now, "end": now},
            "invoice": None,
            "subscription": None,
            "livemode": False,
            "metadata": metadata(call.params.get("metadata", {})),
        },
    )
    if invoice is not None:
        billing.invoice_add_item(invoice, item)
    return item


def invoice_finalize(call: Call, id: str) -> dict[str, Any]:  # noqa: A002
    call.check(("auto_advance",))
    invoice = call.get(id, "invoice")
    if invoice["status"] != "draft":
        raise invalid(
            "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
            code="invoice_already_finalized" if invoice["status"] != "void" else None,
        )
    billing.invoice_finalize(call.state, call.account, invoice)
    return invoice


def invoice_send(call: Call, id: str) -> dict[str, Any]:  # noqa: A002
    call.check(())
    invoice = call.get(id, "invoice")
    if invoice["collection_method"] != "send_invoice":
        raise invalid(
            "You can only manually send an invoice if its collection method is 'send_invoice'.",
        )
    if invoice["status"] == "draft":
        billing.invoice_finalize(call.state, call.account, invoice)
    if invoice["status"] != "open":
        raise invalid(f"You can only send an open invoice (this one is {invoice['status']}).")
    customer = call.get(invoice["customer"], "customer", "customer")
    if not customer.get("email"):
        raise invalid(
            "The customer has no email address, so the invoice cannot be sent.",
            "customer",
            "customer_email_missing",
        )
    invoice["customer_email"] = customer["email"]
    call.state.emit(call.account, "invoice.sent", invoice)
    return invoice


def invoice_void(call: Call, id: str) -> dict[str, Any]:  # noqa: A002
    call.check(())
    invoice = call.get(id, "invoice")
    if invoice["status"] != "open":
        raise invalid(
            f"You can only void an open invoice (this one is {invoice['status']}).",
            code="invoice_not_open",
        )
    previous = {"status": "open"}
    invoice.update(status="void", amount_remaining=0)
    invoice["status_transitions"]["voided_at"] = call.state.now()
    call.state.emit(call.account, "invoice.voided", invoice, previous)
    return invoice


ROUTES: Routes = [
    ("POST", "/v1/invoices", invoice_create),
    ("POST", "/v1/invoices/{id}/finalize", invoice_finalize),
    ("POST", "/v1/invoices/{id}/send", invoice_send),
    ("POST", "/v1/invoices/{id}/void", invoice_void),
    ("POST", "/v1/invoiceitems", item_create),
]
