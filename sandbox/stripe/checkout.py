"""Completing a Checkout Session once its hosted page took a card.

Subscription mode: the customer (made from the entered e-mail unless the session named one),
the card as its default PaymentMethod, the subscription (trial and application fee from
``subscription_data``) and its first invoice and payment. Payment mode: one PaymentIntent
(``payment_intent_data[application_fee_amount]``). A decline leaves the session open and
creates nothing; success completes it and emits ``checkout.session.completed``.
"""

from __future__ import annotations

from typing import Any

from sandbox.stripe import billing, payments
from sandbox.stripe.errors import StripeError
from sandbox.stripe.state import StripeState
from sandbox.stripe.store import new_id


def _customer(state: StripeState, account: str, session: dict[str, Any], email: str) -> Any:
    if session["customer"]:
        return state.store.get(account, session["customer"], "customer")
    customer = state.store.add(
        account,
        {
            "id": new_id("cus"),
            "object": "customer",
            "created": state.now(),
            "livemode": False,
            "email": email or session["customer_email"],
            "name": None,
            "description": None,
            "phone": None,
            "balance": 0,
            "currency": None,
            "delinquent": False,
            "metadata": {},
            "invoice_settings": {"default_payment_method": None},
        },
    )
    state.emit(account, "customer.created", customer)
    return customer


def complete(
    state: StripeState,
    account: str,
    session: dict[str, Any],
    pm: dict[str, Any],
    email: str,
    *,
    authenticated: bool = False,
) -> StripeError | None:
    """Charge per the card; on success complete the session. Returns the decline, if any."""
    items = [
        (state.store.get(account, line["price"], "price"), line["quantity"])
        for line in session["_line_items"]
    ]
    if session["mode"] == "payment":
        intent, error = payments.charge(
            state,
            account,
            customer=session["customer"],
            amount=session["amount_total"],
            currency=session["currency"],
            pm_id=pm["id"],
            on_session=authenticated,
            fee_amount=session["_fee_amount"],
        )
        if error is not None:
            return error
        customer = session["customer"]
        session.update(payment_intent=intent["id"])
    else:
        data = session["_subscription_data"]
        first_amount = 0 if data["trial_seconds"] else session["amount_total"]
        if first_amount:
            # Try the card before creating anything, so a decline leaves nothing behind.
            probe, error = payments.charge(
                state,
                account,
                customer=None,
                amount=0,
                currency=session["currency"],
                pm_id=pm["id"],
                on_session=authenticated,
            )
            state.store.spaces[account].pop(probe["id"], None)
            state.store.spaces[account].pop(probe["latest_charge"], None)
            if error is not None:
                return error
        cust = _customer(state, account, session, email)
        payments.attach(state, account, pm, cust["id"])
        payments.set_default(state, account, cust, pm["id"])
        trial_end = state.now() + data["trial_seconds"] if data["trial_seconds"] else None
        sub, error = billing.subscription_create(
            state,
            account,
            customer=cust,
            items=items,
            trial_end=trial_end,
            default_payment_method=pm["id"],
            application_fee_percent=data["application_fee_percent"],
            metadata=data["metadata"],
            on_session=authenticated,
        )
        if error is not None:  # pragma: no cover - the probe above caught it
            return error
        customer = cust["id"]
        session.update(subscription=sub["id"], invoice=sub["latest_invoice"])
    session.update(
        status="complete",
        customer=customer,
        payment_status="no_payment_required"
        if session["amount_total"] == 0
        or (session["mode"] == "subscription" and session["_subscription_data"]["trial_seconds"])
        else "paid",
        customer_details={"email": email or session["customer_email"]},
    )
    state.emit(account, "checkout.session.completed", session)
    return None
