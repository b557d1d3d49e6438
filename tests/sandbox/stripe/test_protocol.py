"""The wire protocol, checked with the official SDK (and raw HTTP where the SDK hides it):
auth, error shapes, nested form keys, pagination, expand[], idempotency."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from sandbox.stripe.testing import StripeStandIn
from tests.sandbox.stripe.conftest import subscribe


def raw(fake: StripeStandIn, method: str, path: str, key: str | None = None, **kwargs: Any):
    headers = {"Authorization": f"Bearer {key or fake.api_key}", **kwargs.pop("headers", {})}
    return httpx.request(method, f"{fake.base_url}{path}", headers=headers, timeout=30, **kwargs)


def test_a_wrong_api_key_is_a_401_authentication_error(fake: StripeStandIn) -> None:
    with pytest.raises(stripe.AuthenticationError) as caught:
        fake.client("sk_test_not_the_key").v1.customers.list()
    assert caught.value.http_status == 401
    assert "Invalid API Key provided" in str(caught.value.user_message)


def test_a_missing_api_key_is_a_401_with_stripes_message(fake: StripeStandIn) -> None:
    response = httpx.get(f"{fake.base_url}/v1/customers", timeout=30)
    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith("You did not provide an API key")


def test_errors_have_stripes_shape_and_statuses(fake: StripeStandIn) -> None:
    missing = raw(fake, "GET", "/v1/customers/cus_missing")
    assert missing.status_code == 404
    assert missing.json()["error"] | {} == missing.json()["error"]
    error = missing.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "resource_missing",
        "id",
    )
    assert error["message"] == "No such customer: 'cus_missing'"
    unknown = raw(fake, "POST", "/v1/customers", data={"nickname": "x"})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "parameter_unknown"
    assert unknown.json()["error"]["param"] == "nickname"
    absent = raw(fake, "POST", "/v1/prices", data={"unit_amount": "100"})
    assert absent.json()["error"] | {"status": absent.status_code} == {
        **absent.json()["error"],
        "status": 400,
    }
    assert absent.json()["error"]["code"] == "parameter_missing"
    assert absent.json()["error"]["param"] == "currency"
    nowhere = raw(fake, "GET", "/v1/nothing_here")
    assert nowhere.status_code == 404
    assert nowhere.json()["error"]["message"].startswith("Unrecognized request URL (GET: /v1/")


def test_bad_input_stores_nothing(sdk: Any, fake: StripeStandIn) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        sdk.v1.prices.create(params={"currency": "usd", "unit_amount": 500, "product": "prod_x"})
    assert caught.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        sdk.v1.prices.create(
            params={
                "currency": "usd",
                "unit_amount": 500,
                "product_data": {"name": "X"},
                "recurring": {"interval": "fortnight"},
            }
        )
    assert caught.value.param == "recurring[interval]"
    assert list(sdk.v1.prices.list().data) == []
    assert list(sdk.v1.products.list().data) == []


def test_nested_form_keys_round_trip(sdk: Any, plan: Any) -> None:
    customer = sdk.v1.customers.create(
        params={"email": "n@example.com", "metadata": {"agency": "apex", "tier": "gold"}}
    )
    assert customer.metadata["agency"] == "apex"
    updated = sdk.v1.customers.update(customer.id, params={"metadata": {"tier": ""}})
    assert updated.metadata.to_dict() == {"agency": "apex"}  # "" unsets a key, as on Stripe
    sub = sdk.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": plan.id, "quantity": 3}],
            "trial_period_days": 7,
        }
    )
    assert sub.object == "subscription"
    assert sub["items"].data[0].quantity == 3
    assert sub["items"].data[0].price.id == plan.id


def test_ids_carry_stripes_prefixes(sdk: Any, plan: Any) -> None:
    sub = subscribe(sdk, plan, expand=["latest_invoice"])
    assert plan.id.startswith("price_") and plan.product.startswith("prod_")
    assert sub.id.startswith("sub_") and sub.customer.startswith("cus_")
    assert sub.latest_invoice.id.startswith("in_")
    assert sub["items"].data[0].id.startswith("si_")
    assert sub.default_payment_method is None or sub.default_payment_method.startswith("pm_")


def test_lists_paginate_newest_first(sdk: Any) -> None:
    made = [sdk.v1.customers.create(params={"email": f"c{i}@example.com"}).id for i in range(5)]
    first = sdk.v1.customers.list(params={"limit": 2})
    assert first.object == "list" and first.has_more is True
    assert [c.id for c in first.data] == made[::-1][:2]
    second = sdk.v1.customers.list(params={"limit": 2, "starting_after": first.data[-1].id})
    assert [c.id for c in second.data] == made[::-1][2:4]
    back = sdk.v1.customers.list(params={"limit": 2, "ending_before": second.data[0].id})
    assert [c.id for c in back.data] == made[::-1][:2]
    everything = [c.id for c in sdk.v1.customers.list(params={"limit": 2}).auto_paging_iter()]
    assert everything == made[::-1]
    with pytest.raises(stripe.InvalidRequestError) as caught:
        sdk.v1.customers.list(params={"limit": 101})
    assert caught.value.param == "limit"


def test_expand_replaces_ids_with_objects(sdk: Any, plan: Any) -> None:
    sub = subscribe(sdk, plan)
    assert isinstance(sub.latest_invoice, str)
    expanded = sdk.v1.subscriptions.retrieve(
        sub.id, params={"expand": ["customer", "latest_invoice.payment_intent"]}
    )
    assert expanded.customer.object == "customer"
    assert expanded.latest_invoice.payment_intent.object == "payment_intent"
    assert expanded.latest_invoice.payment_intent.status == "succeeded"
    invoices = sdk.v1.invoices.list(params={"expand": ["data.customer"]})
    assert invoices.data[0].customer.email == "client@example.com"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        sdk.v1.subscriptions.retrieve(sub.id, params={"expand": ["status"]})
    assert "cannot be expanded" in str(caught.value.user_message)


def test_idempotency_key_replays_the_first_response(sdk: Any, fake: StripeStandIn) -> None:
    params = {"email": "once@example.com"}
    first = sdk.v1.customers.create(params=params, options={"idempotency_key": "k-1"})
    again = sdk.v1.customers.create(params=params, options={"idempotency_key": "k-1"})
    assert again.id == first.id
    assert len(sdk.v1.customers.list().data) == 1
    replay = raw(fake, "POST", "/v1/customers", data=params, headers={"Idempotency-Key": "k-1"})
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first.id


def test_idempotency_key_with_other_params_is_an_idempotency_error(sdk: Any) -> None:
    sdk.v1.customers.create(params={"email": "a@example.com"}, options={"idempotency_key": "k-2"})
    with pytest.raises(stripe.IdempotencyError) as caught:
        sdk.v1.customers.create(
            params={"email": "b@example.com"}, options={"idempotency_key": "k-2"}
        )
    assert caught.value.http_status == 400
    assert caught.value.error.type == "idempotency_error"
    assert len(sdk.v1.customers.list().data) == 1


def test_idempotency_keys_are_scoped_to_the_account(sdk: Any, fake: StripeStandIn) -> None:
    from tests.sandbox.stripe.conftest import onboarded_account

    account = onboarded_account(sdk, fake)
    params = {"email": "same@example.com"}
    on_platform = sdk.v1.customers.create(params=params, options={"idempotency_key": "k-3"})
    on_account = sdk.v1.customers.create(
        params=params, options={"idempotency_key": "k-3", "stripe_account": account.id}
    )
    assert on_platform.id != on_account.id
