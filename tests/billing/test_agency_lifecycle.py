"""The platform account's Stripe events drive agencies' platform subscriptions: delivered in
shuffled orders they end in Stripe's state (handlers re-read the object), events about other
platform-account objects touch nothing, and a late event of an old subscription cannot undo a
newer one. Also: platform plans take agency entitlements only, the page's refusals, and the
admin sites' read-only lists."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from billing.models import AgencySubscription, Plan, StripeEvent
from billing.services.plans import plan_save
from saas_platform.kernel.errors import ApplicationError
from tenants.models import AgencyEntitlements
from tests.billing.stripe_wire import StripeWire, event, signed
from tests.conftest import World

PLATFORM = "/billing/stripe/webhooks"
PAGE = "/app/agency/billing/"
GRANTS = {"max_locations": 10, "api_access": True}
LIFECYCLES = {
    "canceled": [
        ("checkout.session.completed", "active"),
        ("customer.subscription.created", "trialing"),
        ("invoice.payment_failed", "past_due"),
        ("invoice.paid", "active"),
        ("customer.subscription.deleted", "canceled"),
    ],
    "active": [
        ("customer.subscription.created", "incomplete"),
        ("customer.subscription.updated", "trialing"),
        ("invoice.payment_failed", "past_due"),
        ("customer.subscription.updated", "past_due"),
        ("invoice.paid", "active"),
    ],
}
EXPECTED_STATE = {"canceled": "paused", "active": "active"}


@pytest.fixture
def platform_plan(world: World, stripe_wire: StripeWire) -> Plan:
    return plan_save(
        agency=None,
        data={"name": "Agency Pro", "amount": 29900, "currency": "usd", "entitlements": GRANTS},
        acting_user=world.operator,
    )


def _remote(wire: StripeWire, plan: Plan, agency_id: int | None, status: str) -> dict[str, Any]:
    meta = {"plan_id": str(plan.pk)}
    if agency_id is not None:
        meta["agency_id"] = str(agency_id)
    sub = wire.subscription(
        customer="cus_Agency1",
        price=wire.objects[plan.stripe_price_id],
        status=status,
        metadata=meta,
        period_end=1_800_000_000,
    )
    wire.put(sub, None)
    return sub


def _envelopes(wire: StripeWire, final: dict[str, Any], name: str) -> list[dict[str, Any]]:
    envelopes = []
    for n, (event_type, status) in enumerate(LIFECYCLES[name]):
        if event_type.startswith("invoice."):
            paid = event_type == "invoice.paid"
            invoice_id = wire.invoice(
                subscription=final,
                status="paid" if paid else "open",
                account=None,  # type: ignore[arg-type]
            )
            snapshot = dict(wire.objects[invoice_id])
        elif event_type == "checkout.session.completed":
            session_id = wire.new_id("cs")
            wire.put(
                {
                    "id": session_id,
                    "object": "checkout.session",
                    "mode": "subscription",
                    "status": "complete",
                    "subscription": final["id"],
                },
                None,
            )
            snapshot = dict(wire.objects[session_id])
        else:
            snapshot = {**final, "status": status}
        envelopes.append(event(event_type, snapshot, account=None, event_id=f"evt_{name}_{n}"))
    return envelopes


def _deliver(client: Client, payload: dict[str, Any], capture: Any, suffix: str = "") -> int:
    payload = {**payload, "id": payload["id"] + suffix}
    body, signature = signed(payload, "whsec_test_platform")
    with capture(execute=True):
        response = client.post(
            PLATFORM, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
        )
    return int(response.status_code)


@pytest.mark.parametrize("name", sorted(LIFECYCLES))
def test_shuffled_deliveries_end_in_stripes_state(
    world: World,
    platform_plan: Plan,
    stripe_wire: StripeWire,
    platform_client: Callable[..., Client],
    django_capture_on_commit_callbacks: Any,
    name: str,
) -> None:
    agency = world.a.agency
    final = _remote(stripe_wire, platform_plan, agency.pk, LIFECYCLES[name][-1][1])
    envelopes = _envelopes(stripe_wire, final, name)
    orders = list(itertools.permutations(range(len(envelopes))))
    chosen = [orders[0], orders[-1], *random.Random(8).sample(orders, 18)]
    client = platform_client()
    outcomes = set()
    for n, order in enumerate(chosen):
        AgencySubscription.objects.for_agency(agency).delete()
        AgencyEntitlements.objects.for_agency(agency).delete()
        for i in order:
            assert (
                _deliver(client, envelopes[i], django_capture_on_commit_callbacks, f"_{n}") == 200
            )
        subscription = AgencySubscription.objects.for_agency(agency).get()
        record = AgencyEntitlements.objects.for_agency(agency).get()
        outcomes.add(
            (
                subscription.stripe_subscription_id,
                subscription.status,
                subscription.plan_id,
                subscription.stripe_customer_id,
                int(subscription.current_period_end.timestamp()),  # type: ignore[union-attr]
                record.state,
                tuple(sorted(record.granted.items())),
            )
        )
    assert not StripeEvent.objects.exclude(status="succeeded").exists()
    assert outcomes == {
        (
            final["id"],
            final["status"],
            platform_plan.pk,
            "cus_Agency1",
            1_800_000_000,
            EXPECTED_STATE[name],
            tuple(sorted(GRANTS.items())),
        )
    }
    # Nothing reached the other agency, and nothing asked Stripe for a connected account.
    assert not AgencyEntitlements.objects.for_agency(world.b.agency).exists()
    assert {c.account for c in stripe_wire.calls} == {None}


def test_a_platform_subscription_that_is_not_an_agencys_touches_nothing(
    world: World,
    platform_plan: Plan,
    stripe_wire: StripeWire,
    platform_client: Callable[..., Client],
    django_capture_on_commit_callbacks: Any,
) -> None:
    stray = _remote(stripe_wire, platform_plan, None, "active")
    payload = event("customer.subscription.updated", stray, account=None)
    assert _deliver(platform_client(), payload, django_capture_on_commit_callbacks) == 200
    assert StripeEvent.objects.get().status == "succeeded"
    assert not AgencySubscription.objects.unscoped().exists()
    assert not AgencyEntitlements.objects.unscoped().exists()


def test_a_late_event_of_an_old_subscription_does_not_pause_the_new_one(
    world: World,
    platform_plan: Plan,
    stripe_wire: StripeWire,
    platform_client: Callable[..., Client],
    django_capture_on_commit_callbacks: Any,
) -> None:
    agency = world.a.agency
    old = _remote(stripe_wire, platform_plan, agency.pk, "canceled")
    new = _remote(stripe_wire, platform_plan, agency.pk, "active")
    client = platform_client()
    for n, sub in enumerate((new, old)):  # the old one's deletion arrives last
        payload = event("customer.subscription.deleted", sub, account=None, event_id=f"evt_{n}")
        assert _deliver(client, payload, django_capture_on_commit_callbacks) == 200
    assert AgencySubscription.objects.for_agency(agency).count() == 2
    assert AgencyEntitlements.objects.for_agency(agency).get().state == "active"


def test_platform_plans_grant_agency_entitlements_only(
    world: World, stripe_wire: StripeWire
) -> None:
    base = {"name": "Agency Basic", "amount": 100, "currency": "usd"}
    for bad, message in (
        ({"routing": True}, "Unknown agency entitlements: routing"),
        ({"max_locations": "3"}, "'max_locations' must be a whole number"),
    ):
        with pytest.raises(ApplicationError, match=message):
            plan_save(agency=None, data={**base, "entitlements": bad}, acting_user=None)
    # An agency's plan for its clients takes location entitlements, not agency ones.
    with pytest.raises(ApplicationError, match="Unknown entitlements: max_locations"):
        plan_save(
            agency=world.a.agency,
            data={**base, "entitlements": {"max_locations": 3}},
            acting_user=None,
        )
    assert not Plan.objects.unscoped().exists() and stripe_wire.calls == []


def test_stripe_down_is_a_message_not_an_error(
    world: World,
    platform_plan: Plan,
    stripe_wire: StripeWire,
    agency_client: Callable[..., Client],
) -> None:
    stripe_wire.down["POST /v1/checkout/sessions"] = 503
    client = agency_client(world.a, world.a.owner)
    response = client.post(f"{PAGE}subscribe/{platform_plan.pk}/", follow=True)
    assert response.redirect_chain[-1][0] == PAGE
    assert "Payment cannot be started right now" in response.content.decode()
    AgencySubscription.objects.create(
        agency=world.a.agency,
        plan=platform_plan,
        stripe_subscription_id="sub_down",
        stripe_customer_id="cus_down",
        status="active",
    )
    stripe_wire.down["GET /v1/invoices"] = 503
    text = client.get(PAGE).content.decode()
    assert "invoices can't be loaded right now" in text and "Active" in text
    stripe_wire.down["POST /v1/billing_portal/sessions"] = 503
    response = client.get(f"{PAGE}manage/", follow=True)
    assert "Billing details cannot be opened right now" in response.content.decode()


def test_an_archived_platform_plan_is_refused_with_its_reason(
    world: World,
    platform_plan: Plan,
    stripe_wire: StripeWire,
    agency_client: Callable[..., Client],
) -> None:
    Plan.objects.platform().filter(pk=platform_plan.pk).update(active=False)
    response = agency_client(world.a, world.a.admin).post(
        f"{PAGE}subscribe/{platform_plan.pk}/", follow=True
    )
    assert "This plan is no longer on sale." in response.content.decode()
    assert not stripe_wire.creates("/v1/checkout/sessions")


def test_the_admin_sites_list_agency_subscriptions_read_only(
    world: World,
    platform_plan: Plan,
    platform_client: Callable[..., Client],
    agency_client: Callable[..., Client],
) -> None:
    for tenant, status in ((world.a, "past_due"), (world.b, "active")):
        AgencySubscription.objects.create(
            agency=tenant.agency,
            plan=platform_plan,
            stripe_subscription_id=f"sub_{tenant.agency.slug}",
            status=status,
        )
    url = "/admin/billing/agencysubscription/"
    staff = platform_client(world.operator).get(url).content.decode()
    assert "Agency A" in staff and "Agency B" in staff
    assert "Past due" in staff and "Active" in staff
    owner = agency_client(world.a, world.a.owner)
    mine = owner.get(url).content.decode()
    assert "Past due" in mine and "sub_agency-b" not in mine and "Agency B" not in mine
    assert owner.get(f"{url}add/").status_code == 403
