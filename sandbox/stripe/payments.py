"""Cards, PaymentMethods and payment attempts (PaymentIntent + Charge + application fee).

A payment's outcome comes from the test card (``cards.py``) unless the control API forced a
failure for that PaymentMethod or customer.
"""

from __future__ import annotations

from typing import Any

from sandbox.stripe import cards
from sandbox.stripe.errors import StripeError, card_error, invalid, no_such
from sandbox.stripe.state import StripeState
from sandbox.stripe.store import PLATFORM, new_id


def card_payment_method(
    state: StripeState, account: str, number: str, customer: str | None = None
) -> dict[str, Any]:
    """A PaymentMethod for a test card number; declines that happen on saving raise here."""
    card = cards.lookup(number)
    if card is None:
        raise card_error(
            "Your card number is incorrect. Use a Stripe test card such as 4242424242424242.",
            "incorrect_number",
            param="number",
        )
    if card.decline_on_attach:
        raise card_error(
            cards.decline_message(card.decline_on_attach),
            "expired_card" if card.decline_on_attach == "expired_card" else "card_declined",
            card.decline_on_attach,
        )
    pm = state.store.add(
        account,
        {
            "id": new_id("pm"),
            "object": "payment_method",
            "type": "card",
            "created": state.now(),
            "customer": None,
            "livemode": False,
            "metadata": {},
            "billing_details": {"email": None, "name": None},
            "card": {
                "brand": card.brand,
                "last4": card.number[-4:],
                "exp_month": 12,
                "exp_year": 2034,
                "funding": "credit",
                "country": "US",
            },
            "_number": card.number,
            "_authenticated": False,
        },
    )
    if customer:
        attach(state, account, pm, customer)
    return pm


def resolve(state: StripeState, account: str, ref: str, param: str) -> dict[str, Any]:
    """A PaymentMethod by id, or a fresh one for a ``pm_card_*`` test shortcut."""
    if ref in cards.TEST_PAYMENT_METHODS:
        return card_payment_method(state, account, cards.TEST_PAYMENT_METHODS[ref])
    return state.store.get(account, ref, "payment_method", param)


def attach(state: StripeState, account: str, pm: dict[str, Any], customer_id: str) -> None:
    customer = state.store.get(account, customer_id, "customer", "customer")
    if pm["customer"] and pm["customer"] != customer_id:
        raise invalid(
            "The payment method you provided has already been attached to a customer.",
            "payment_method",
            "payment_method_unexpected_state",
        )
    pm["customer"] = customer["id"]


def set_default(state: StripeState, account: str, customer: dict[str, Any], pm_id: str) -> None:
    previous = {"invoice_settings": dict(customer["invoice_settings"])}
    customer["invoice_settings"]["default_payment_method"] = pm_id
    state.emit(account, "customer.updated", customer, previous)


def _forced(state: StripeState, keys: list[str | None]) -> str | None:
    for key in keys:
        forced = state.failures.get(key or "")
        if forced is None:
            continue
        if forced.remaining is not None:
            forced.remaining -= 1
            if forced.remaining <= 0:
                del state.failures[key or ""]
        return forced.decline_code
    return None


def charge(
    state: StripeState,
    account: str,
    *,
    customer: str | None,
    amount: int,
    currency: str,
    pm_id: str | None,
    invoice: str | None = None,
    fee_amount: int | None = None,
    on_session: bool = False,
) -> tuple[dict[str, Any], StripeError | None]:
    """One payment attempt; returns the PaymentIntent and the card error if it failed."""
    pm = state.store.find(account, pm_id, "payment_method") if pm_id else None
    now = state.now()
    intent: dict[str, Any] = {
        "id": new_id("pi"),
        "object": "payment_intent",
        "amount": amount,
        "amount_received": 0,
        "currency": currency,
        "customer": customer,
        "invoice": invoice,
        "payment_method": pm["id"] if pm else None,
        "application_fee_amount": fee_amount,
        "created": now,
        "latest_charge": None,
        "last_payment_error": None,
        "livemode": False,
        "metadata": {},
        "status": "requires_payment_method",
    }
    state.store.add(account, intent)
    error = _outcome(state, pm, customer, on_session)
    charge_obj: dict[str, Any] = {
        "id": new_id("ch"),
        "object": "charge",
        "amount": amount,
        "amount_captured": 0 if error else amount,
        "currency": currency,
        "customer": customer,
        "invoice": invoice,
        "payment_intent": intent["id"],
        "payment_method": pm["id"] if pm else None,
        "application_fee": None,
        "application_fee_amount": fee_amount,
        "created": now,
        "paid": error is None,
        "captured": error is None,
        "status": "failed" if error else "succeeded",
        "failure_code": error.body.get("code") if error else None,
        "failure_message": str(error) if error else None,
        "outcome": {"type": "issuer_declined" if error else "authorized"},
        "livemode": False,
        "metadata": {},
    }
    state.store.add(account, charge_obj)
    intent["latest_charge"] = charge_obj["id"]
    if error is not None:
        intent["last_payment_error"] = dict(error.body, payment_method=pm_id)
        if error.body.get("code") == "authentication_required":
            intent["status"] = "requires_action"
        state.emit(account, "payment_intent.payment_failed", intent)
        return intent, error
    intent["status"] = "succeeded"
    intent["amount_received"] = amount
    if fee_amount and account != PLATFORM:
        fee = state.store.add(
            PLATFORM,
            {
                "id": new_id("fee"),
                "object": "application_fee",
                "account": account,
                "amount": fee_amount,
                "amount_refunded": 0,
                "currency": currency,
                "charge": charge_obj["id"],
                "created": now,
                "livemode": False,
                "refunded": False,
                "_invoice": invoice,
            },
        )
        charge_obj["application_fee"] = fee["id"]
        state.emit(PLATFORM, "application_fee.created", fee)
    state.emit(account, "payment_intent.succeeded", intent)
    return intent, None


def _outcome(
    state: StripeState, pm: dict[str, Any] | None, customer: str | None, on_session: bool
) -> StripeError | None:
    if pm is None:
        return invalid(
            "This customer has no attached payment source or default payment method.",
            "payment_method",
            "resource_missing",
        )
    forced = _forced(state, [pm["id"], customer])
    if forced:
        return card_error(cards.decline_message(forced), "card_declined", forced)
    card = cards.lookup(pm["_number"])
    if card is None:  # pragma: no cover - PaymentMethods only come from test cards
        raise no_such("PaymentMethod", pm["id"])
    if card.decline_on_charge:
        return card_error(
            cards.decline_message(card.decline_on_charge), "card_declined", card.decline_on_charge
        )
    # An on-session payment has just passed the challenge page; 3155 is then set up for
    # off-session use, while 3184 asks again every time.
    if card.requires_authentication and not (on_session or pm["_authenticated"]):
        return card_error(
            cards.decline_message("authentication_required"),
            "authentication_required",
            "authentication_required",
        )
    return None
