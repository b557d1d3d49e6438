"""One-off invoices on a connected account, as Stripe's Invoicing API documents them: a draft
for a customer, an invoice item added to it, finalize (number, hosted page), send (e-mailed to the
customer), payment on the hosted page with the platform's application fee, `invoice.paid`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from sandbox.stripe.testing import StripeStandIn
from tests.sandbox.stripe.conftest import onboarded_account


def _draft(sdk: Any, account: str, **extra: Any) -> tuple[Any, Any]:
    on_account = {"stripe_account": account}
    customer = sdk.v1.customers.create(params={"email": "payer@x.test"}, options=on_account)
    params = {
        "customer": customer.id,
        "collection_method": "send_invoice",
        "days_until_due": 7,
        "currency": "aed",
        "application_fee_amount": 12000,
        **extra,
    }
    return customer, sdk.v1.invoices.create(params=params, options=on_account)


def test_a_sent_invoice_is_paid_on_its_hosted_page_with_the_platforms_fee(
    sdk: Any, fake: StripeStandIn, browser: httpx.Client
) -> None:
    account = onboarded_account(sdk, fake).id
    on_account = {"stripe_account": account}
    customer, draft = _draft(sdk, account)
    assert (draft.status, draft.number, draft.hosted_invoice_url) == ("draft", None, None)
    assert draft.due_date == draft.created + 7 * 86_400
    sdk.v1.invoice_items.create(
        params={
            "customer": customer.id,
            "invoice": draft.id,
            "amount": 120000,
            "currency": "aed",
            "description": "Kitchen refit",
        },
        options=on_account,
    )
    finalized = sdk.v1.invoices.finalize_invoice(draft.id, options=on_account)
    assert (finalized.status, finalized.amount_due) == ("open", 120000)
    assert finalized.number and finalized.hosted_invoice_url.endswith(f"/i/{draft.id}")
    sent = sdk.v1.invoices.send_invoice(draft.id, options=on_account)
    assert sent.customer_email == "payer@x.test"

    paid = browser.post(sent.hosted_invoice_url, data={"card_number": "4242424242424242"})
    assert paid.status_code == 303
    invoice = sdk.v1.invoices.retrieve(draft.id, options=on_account)
    assert (invoice.status, invoice.amount_paid) == ("paid", 120000)
    fees = sdk.v1.application_fees.list().data
    assert [(f.account, f.amount, f.currency) for f in fees] == [(account, 12000, "aed")]
    types = [e.type for e in sdk.v1.events.list(options=on_account).data]
    assert {"invoice.finalized", "invoice.sent", "invoice.paid"} <= set(types)


def test_an_invoice_item_is_refused_on_a_finalized_invoice_or_in_another_currency(
    sdk: Any, fake: StripeStandIn
) -> None:
    account = onboarded_account(sdk, fake).id
    on_account = {"stripe_account": account}
    customer, draft = _draft(sdk, account, application_fee_amount=0)
    item = {"customer": customer.id, "invoice": draft.id, "amount": 500}
    with pytest.raises(stripe.InvalidRequestError, match="must match the currency"):
        sdk.v1.invoice_items.create(params={**item, "currency": "usd"}, options=on_account)
    sdk.v1.invoice_items.create(params={**item, "currency": "aed"}, options=on_account)
    sdk.v1.invoices.finalize_invoice(draft.id, options=on_account)
    with pytest.raises(stripe.InvalidRequestError, match="draft invoices"):
        sdk.v1.invoice_items.create(params={**item, "currency": "aed"}, options=on_account)
    with pytest.raises(stripe.InvalidRequestError, match="re-finalize"):
        sdk.v1.invoices.finalize_invoice(draft.id, options=on_account)


def test_send_invoice_needs_a_due_date_and_a_fee_needs_a_connected_account(
    sdk: Any, fake: StripeStandIn
) -> None:
    account = onboarded_account(sdk, fake).id
    customer = sdk.v1.customers.create(
        params={"email": "p@x.test"}, options={"stripe_account": account}
    )
    with pytest.raises(stripe.InvalidRequestError, match="days_until_due"):
        sdk.v1.invoices.create(
            params={"customer": customer.id, "collection_method": "send_invoice"},
            options={"stripe_account": account},
        )
    own = sdk.v1.customers.create(params={"email": "p@x.test"})
    with pytest.raises(stripe.InvalidRequestError, match="on behalf of another account"):
        sdk.v1.invoices.create(
            params={
                "customer": own.id,
                "collection_method": "send_invoice",
                "days_until_due": 3,
                "application_fee_amount": 10,
            }
        )


def test_an_invoice_without_the_customers_email_cannot_be_sent_and_a_void_one_not_paid(
    sdk: Any, fake: StripeStandIn, browser: httpx.Client
) -> None:
    account = onboarded_account(sdk, fake).id
    on_account = {"stripe_account": account}
    customer = sdk.v1.customers.create(params={"name": "No mail"}, options=on_account)
    draft = sdk.v1.invoices.create(
        params={"customer": customer.id, "collection_method": "send_invoice", "days_until_due": 1},
        options=on_account,
    )
    sdk.v1.invoice_items.create(
        params={"customer": customer.id, "invoice": draft.id, "amount": 900, "currency": "usd"},
        options=on_account,
    )
    with pytest.raises(stripe.InvalidRequestError, match="no email"):
        sdk.v1.invoices.send_invoice(draft.id, options=on_account)
    voided = sdk.v1.invoices.void_invoice(draft.id, options=on_account)
    assert voided.status == "void"
    page = browser.get(voided.hosted_invoice_url)
    assert page.status_code == 200 and "void" in page.text and "card_number" not in page.text
