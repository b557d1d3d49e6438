"""Stripe's documented test cards and what each does at each step.

``attach``: saving the card (checkout, portal, ``payment_methods/attach``); ``charge``: a
payment. 4000000000000341 is the card that attaches and then fails every charge;
4000002500003155 needs 3-D Secure on the first, on-session payment and succeeds afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "lost_card": "Your card was declined.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "authentication_required": "Your card was declined. This transaction requires authentication.",
}


@dataclass(frozen=True)
class TestCard:
    number: str
    brand: str
    decline_on_attach: str | None = None  # decline_code when saving the card fails
    decline_on_charge: str | None = None
    requires_authentication: bool = False


CARDS = {
    card.number: card
    for card in (
        TestCard("4242424242424242", "visa"),
        TestCard("4000056655665556", "visa"),
        TestCard("5555555555554444", "mastercard"),
        TestCard("378282246310005", "amex"),
        TestCard("4000000000000002", "visa", decline_on_attach="generic_decline"),
        TestCard("4000000000009995", "visa", decline_on_attach="insufficient_funds"),
        TestCard("4000000000009987", "visa", decline_on_attach="lost_card"),
        TestCard("4000000000000069", "visa", decline_on_attach="expired_card"),
        TestCard("4000000000000341", "visa", decline_on_charge="generic_decline"),
        TestCard("4000002500003155", "visa", requires_authentication=True),
        TestCard("4000002760003184", "visa", requires_authentication=True),
    )
}
# The ``pm_card_*`` shortcuts Stripe accepts in place of a PaymentMethod id.
TEST_PAYMENT_METHODS = {
    "pm_card_visa": "4242424242424242",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_amex": "378282246310005",
    "pm_card_visa_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeCustomerFail": "4000000000000341",
    "pm_card_authenticationRequiredSetupForOffSession": "4000002500003155",
    "pm_card_authenticationRequired": "4000002760003184",
}


def lookup(number: str) -> TestCard | None:
    """A test card, or None: the stand-in accepts only documented test numbers."""
    return CARDS.get("".join(ch for ch in number if ch.isdigit()))


def decline_message(code: str) -> str:
    return DECLINE_MESSAGES.get(code, "Your card was declined.")
