"""Listing a customer's invoices on a connected account (what a client's billing page shows):
the `customer` filter, newest first, cursor paging, and the hosted page and PDF links."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from sandbox.stripe.testing import StripeStandIn
from tests.sandbox.stripe.conftest import make_plan, onboarded_account, subscribe


def test_invoices_of_one_customer_page_newest_first_with_their_links(
    sdk: Any, fake: StripeStandIn, browser: httpx.Client
) -> None:
    account = onboarded_account(sdk, fake).id
    on_account = {"stripe_account": account}
    price = make_plan(sdk, account=account)
    mine = subscribe(sdk, price, account=account)
    subscribe(sdk, price, account=account)  # another customer on the same account
    fake.advance(days=65)  # two renewals each

    first = sdk.v1.invoices.list(params={"customer": mine.customer, "limit": 2}, options=on_account)
    assert [i.customer for i in first.data] == [mine.customer] * 2 and first.has_more
    rest = sdk.v1.invoices.list(
        params={"customer": mine.customer, "limit": 2, "starting_after": first.data[-1].id},
        options=on_account,
    )
    assert len(rest.data) == 1 and not rest.has_more
    created = [i.created for i in [*first.data, *rest.data]]
    assert created == sorted(created, reverse=True)
    newest = first.data[0]
    assert newest.hosted_invoice_url.endswith(f"/i/{newest.id}")
    pdf = browser.get(newest.invoice_pdf)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    # The platform's own space holds none of the account's invoices.
    assert sdk.v1.invoices.list(params={"customer": mine.customer}).data == []


def test_a_cursor_from_another_account_is_refused(sdk: Any, fake: StripeStandIn) -> None:
    account = onboarded_account(sdk, fake).id
    price = make_plan(sdk, account=account)
    sub = subscribe(sdk, price, account=account)
    invoice = sdk.v1.invoices.list(
        params={"customer": sub.customer}, options={"stripe_account": account}
    ).data[0]
    with pytest.raises(stripe.InvalidRequestError):
        sdk.v1.invoices.list(params={"starting_after": invoice.id})
