"""Plans: validated before anything is stored or sent, synced to a product and a price on the
agency's connected account, never created twice by a retry."""

from __future__ import annotations

from typing import Any

import pytest

from billing.models import Plan, StripeAccount
from billing.services.plans import plan_save
from billing.stripe_api import StripeCallError
from saas_platform.kernel.errors import ApplicationError
from tenants.models import AuditLogEntry
from tests.billing.stripe_wire import StripeWire
from tests.conftest import World

GOOD: dict[str, Any] = {"name": "Starter", "amount": 4900, "currency": "usd"}


def test_a_plan_is_a_product_and_price_on_the_agencys_account(
    world: World, ready_account: StripeAccount, stripe_wire: StripeWire
) -> None:
    plan = plan_save(
        agency=world.a.agency,
        data={**GOOD, "interval": "year", "entitlements": {"routing": True, "seats": 3}},
        acting_user=world.a.owner,
    )
    (product,) = stripe_wire.creates("/v1/products")
    (price,) = stripe_wire.creates("/v1/prices")
    assert product.account == price.account == "acct_AgencyA0000001"
    assert product.idempotency_key == f"plan-{plan.pk}-product"
    assert price.idempotency_key == f"plan-{plan.pk}-price-1"
    assert price.form["unit_amount"] == "4900"
    assert price.form["recurring[interval]"] == "year"
    assert price.form["product"] == plan.stripe_product_id
    assert plan.stripe_price_id.startswith("price_")
    assert AuditLogEntry.objects.for_agency(world.a.agency).filter(action="plan.saved").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({**GOOD, "amount": -100}, "cannot be negative"),
        ({**GOOD, "currency": "xyz"}, "does not support the currency 'xyz'"),
        ({**GOOD, "amount": 12.5}, "whole number of cents"),
        ({**GOOD, "interval": "fortnight"}, "month or year"),
        ({**GOOD, "entitlements": {"teleport": True}}, "Unknown entitlements: teleport"),
        ({**GOOD, "entitlements": {"seats": -1}}, "'seats' must be a whole number"),
        ({"name": "No price"}, "needs: amount, currency"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored_or_sent(
    world: World,
    ready_account: StripeAccount,
    stripe_wire: StripeWire,
    data: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(ApplicationError, match=message):
        plan_save(agency=world.a.agency, data=data, acting_user=world.a.owner)
    assert not Plan.objects.for_agency(world.a.agency).exists()
    assert stripe_wire.calls == []


@pytest.mark.parametrize("missing", ["payouts_enabled", "charges_enabled"])
def test_an_agency_whose_account_cannot_pay_out_is_refused(
    world: World, ready_account: StripeAccount, stripe_wire: StripeWire, missing: str
) -> None:
    StripeAccount.objects.for_agency(world.a.agency).update(**{missing: False})
    with pytest.raises(ApplicationError, match="cannot take payments or pay out"):
        plan_save(agency=world.a.agency, data=GOOD, acting_user=world.a.owner)
    assert not Plan.objects.for_agency(world.a.agency).exists()
    assert stripe_wire.calls == []


def test_an_agency_without_a_connected_account_is_refused(
    world: World, stripe_wire: StripeWire
) -> None:
    with pytest.raises(ApplicationError, match="Connect a Stripe account"):
        plan_save(agency=world.b.agency, data=GOOD, acting_user=world.b.owner)
    assert stripe_wire.calls == []


def test_a_retry_after_stripe_failed_creates_nothing_twice(
    world: World, ready_account: StripeAccount, stripe_wire: StripeWire
) -> None:
    stripe_wire.fail_next["POST /v1/prices"] = 500
    with pytest.raises(StripeCallError):
        plan_save(agency=world.a.agency, data=GOOD, acting_user=world.a.owner)
    plan = Plan.objects.for_agency(world.a.agency).get()
    assert plan.stripe_price_id == ""  # shown as not yet in Stripe

    plan_save(agency=world.a.agency, plan=plan, data={}, acting_user=world.a.owner)
    plan.refresh_from_db()
    assert plan.stripe_price_id
    products = [o for o in stripe_wire.objects.values() if o["object"] == "product"]
    prices = [o for o in stripe_wire.objects.values() if o["object"] == "price"]
    assert len(products) == 1 and len(prices) == 1
    keys = [c.idempotency_key for c in stripe_wire.creates("/v1/products")]
    assert keys == [f"plan-{plan.pk}-product"] * 2


def test_a_new_price_only_when_the_price_changes(
    world: World, plan: Plan, stripe_wire: StripeWire
) -> None:
    first_price = plan.stripe_price_id
    plan_save(agency=world.a.agency, plan=plan, data={"name": "Growth+"}, acting_user=None)
    assert plan.stripe_price_id == first_price
    assert len(stripe_wire.creates("/v1/prices")) == 1
    plan_save(agency=world.a.agency, plan=plan, data={"amount": 12900}, acting_user=None)
    assert plan.stripe_price_id != first_price
    assert stripe_wire.creates("/v1/prices")[-1].idempotency_key == f"plan-{plan.pk}-price-2"


def test_another_agencys_plan_cannot_be_edited(world: World, plan: Plan) -> None:
    with pytest.raises(ApplicationError, match="No such plan"):
        plan_save(agency=world.b.agency, plan=plan, data={"name": "Mine"}, acting_user=None)


def test_the_platforms_own_plans_live_on_the_platform_account(
    world: World, stripe_wire: StripeWire
) -> None:
    plan = plan_save(agency=None, data=GOOD, acting_user=world.operator)
    assert plan.agency is None
    assert [c.account for c in stripe_wire.calls] == [None, None]
    assert list(Plan.objects.platform()) == [plan]
