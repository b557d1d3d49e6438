"""The process, the SDK's global configuration, and the control API."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import stripe

from sandbox.stripe.testing import StripeStandIn
from tests.sandbox.stripe.conftest import make_plan, subscribe


def test_the_sdks_global_api_base_works_unchanged(
    fake: StripeStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stripe, "api_key", fake.api_key)
    monkeypatch.setattr(stripe, "api_base", fake.base_url)
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    customer = stripe.Customer.create(email="global@example.com")
    assert stripe.Customer.retrieve(customer.id).email == "global@example.com"
    assert [c.id for c in stripe.Customer.list(limit=1).auto_paging_iter()] == [customer.id]


def test_reset_forgets_everything(sdk: Any, fake: StripeStandIn, plan: Any) -> None:
    subscribe(sdk, plan)
    fake.advance(days=3)
    fake.reset()
    assert sdk.v1.customers.list().data == []
    assert sdk.v1.events.list().data == []
    assert abs(fake.now() - time.time()) < 5


def test_control_api_rejects_bad_input(fake: StripeStandIn) -> None:
    base = f"{fake.base_url}/_sandbox"
    assert httpx.post(f"{base}/clock/advance", json={"days": -1}).status_code == 400
    assert httpx.post(f"{base}/failures", json={"decline_code": "x"}).status_code == 400
    bad_count = {"customer": "cus_x", "count": 0}
    assert httpx.post(f"{base}/failures", json=bad_count).status_code == 400
    assert httpx.post(f"{base}/webhook", json={"url": "ftp://x"}).status_code == 400
    assert httpx.post(f"{base}/accounts/acct_missing/onboard").status_code == 404


def test_a_compressed_clock_renews_without_any_call() -> None:
    with StripeStandIn(time_factor=100_000) as fast:  # a day lasts under a second
        sdk = fast.client()
        sub = subscribe(sdk, make_plan(sdk, amount=100, interval="day"))
        time.sleep(2.5)
        invoices = sdk.v1.invoices.list(params={"subscription": sub.id}).data
        assert len(invoices) >= 2
        assert {i.status for i in invoices} == {"paid"}
