"""A client pays for its agency's plan on Stripe's hosted Checkout, end to end against the Stripe
stand-in process: the agency onboards its connected account, saves a plan (synced onto that
account), the client's admin starts Checkout, the hosted page takes a test card, and the
stand-in's signed `checkout.session.completed` reaches our Connect endpoint (a live server)."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from django.test import Client

from billing.models import Plan, StripeAccount, StripeEvent, Subscription
from billing.services.checkout import checkout_start
from billing.services.connect import connect_account_refresh, connect_onboarding_start
from billing.services.plans import plan_save
from saas_platform.kernel.errors import ApplicationError
from sandbox.stripe.testing import StripeStandIn
from tenants import selectors as tenant_selectors
from tenants.models import Location
from tests.conftest import Tenant, World

CONNECT_SECRET = "whsec_test_connect"  # the test settings' Connect endpoint secret
ENTITLEMENTS = {"routing": True, "reports": True, "seats": 5, "contact_limit": 5000}


@pytest.fixture
def standin(stripe_standin: StripeStandIn, settings: Any) -> StripeStandIn:
    settings.STRIPE_API_BASE = stripe_standin.base_url
    settings.STRIPE_SECRET_KEY = stripe_standin.api_key
    return stripe_standin


def _onboarded(standin: StripeStandIn, tenant: Tenant) -> StripeAccount:
    """The agency's connected account, made by our service and onboarded on the hosted page."""
    back = tenant_selectors.agency_portal_url(tenant.agency, "/admin/")
    url = connect_onboarding_start(
        agency=tenant.agency, acting_user=tenant.owner, return_url=back, refresh_url=back
    )
    page = httpx.post(url, data={"business_name": tenant.agency.name}, trust_env=False)
    assert page.status_code in (302, 303) and page.headers["location"] == back
    account = StripeAccount.objects.for_agency(tenant.agency).get()
    return connect_account_refresh(stripe_account_id=account.stripe_account_id)


def _plan(tenant: Tenant, **overrides: Any) -> Plan:
    data = {"name": "Growth", "amount": 9900, "currency": "usd", "entitlements": ENTITLEMENTS}
    return plan_save(agency=tenant.agency, data={**data, **overrides}, acting_user=tenant.owner)


def _start(
    agency_client: Callable[..., Client], tenant: Tenant, location: Location, plan: Plan
) -> str:
    response = agency_client(tenant, tenant.client_admin).post(
        f"/billing/checkout/{location.pk}/{plan.pk}/"
    )
    assert response.status_code == 303, response.content
    return str(response["Location"])


def _wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the stand-in's webhook did not take effect"
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_a_paid_checkout_subscribes_the_client_on_the_agencys_account(
    world: World,
    standin: StripeStandIn,
    live_server: Any,
    settings: Any,
    agency_client: Callable[..., Client],
) -> None:
    settings.PLATFORM_HOSTS = ["localhost", "127.0.0.1"]
    sdk = standin.client()
    # Only this event is delivered, so what follows is the checkout handler's doing alone.
    endpoint = sdk.v1.webhook_endpoints.create(
        params={
            "url": f"{live_server.url}/billing/stripe/connect-webhooks",
            "enabled_events": ["checkout.session.completed"],
            "connect": True,
        }
    )
    settings.STRIPE_CONNECT_WEBHOOK_SECRETS = [endpoint.secret]
    account = _onboarded(standin, world.a)
    assert (account.charges_enabled, account.payouts_enabled) == (True, True)
    plan = _plan(world.a)
    on_account = {"stripe_account": account.stripe_account_id}
    price = sdk.v1.prices.retrieve(plan.stripe_price_id, options=on_account)  # type: ignore[arg-type]
    assert (price.unit_amount, price.product) == (9900, plan.stripe_product_id)
    location = world.a.locations[0]

    session_url = _start(agency_client, world.a, location, plan)
    paid = httpx.post(
        session_url,
        data={"email": "payer@a.test", "card_number": "4242 4242 4242 4242"},
        trust_env=False,
    )
    assert paid.status_code == 303
    success = paid.headers["location"]
    assert success.startswith(f"http://{world.a.domain}")
    assert "checkout=success" in success and "{CHECKOUT_SESSION_ID}" not in success

    _wait_for(
        lambda: StripeEvent.objects.filter(
            event_type="checkout.session.completed", status="succeeded"
        ).exists()
    )
    assert {e.event_type for e in StripeEvent.objects.all()} == {"checkout.session.completed"}
    subscription = Subscription.objects.for_location(location).get()
    remote = sdk.v1.subscriptions.retrieve(subscription.stripe_subscription_id, options=on_account)  # type: ignore[arg-type]
    assert remote.status == "active"
    assert (subscription.status, subscription.plan_id) == ("active", plan.pk)
    assert subscription.stripe_account_id == account.stripe_account_id
    assert subscription.stripe_customer_id == remote.customer
    assert subscription.application_fee_percent == Decimal("10")
    fees = sdk.v1.application_fees.list().data
    assert [(f.account, f.amount) for f in fees] == [(account.stripe_account_id, 990)]
    assert tenant_selectors.location_entitlements(location) == ENTITLEMENTS
    # The other location, and the other agency, got nothing.
    assert tenant_selectors.location_entitlements(world.a.locations[1]) == {}
    assert tenant_selectors.location_entitlements(world.b.locations[0]) == {}

    again = agency_client(world.a, world.a.client_admin).post(
        f"/billing/checkout/{location.pk}/{plan.pk}/"
    )
    assert again.status_code == 400 and b"already has a subscription" in again.content


@pytest.mark.django_db(transaction=True)
def test_a_declined_card_grants_nothing(
    world: World,
    standin: StripeStandIn,
    live_server: Any,
    settings: Any,
    agency_client: Callable[..., Client],
) -> None:
    settings.PLATFORM_HOSTS = ["localhost", "127.0.0.1"]
    standin.set_webhook(f"{live_server.url}/billing/stripe/connect-webhooks", CONNECT_SECRET)
    _onboarded(standin, world.a)
    plan = _plan(world.a)
    location = world.a.locations[0]

    session_url = _start(agency_client, world.a, location, plan)
    declined = httpx.post(
        session_url,
        data={"email": "payer@a.test", "card_number": "4000 0000 0000 0002"},
        trust_env=False,
    )
    assert declined.status_code == 402 and "declined" in declined.text
    assert standin.deliveries(type="checkout.session.completed") == []
    assert not Subscription.objects.for_location(location).exists()
    assert tenant_selectors.location_entitlements(location) == {}


def test_the_session_carries_the_plan_fee_trial_and_location(
    world: World, standin: StripeStandIn
) -> None:
    account = _onboarded(standin, world.a)
    plan = _plan(world.a, trial_days=14)
    location = world.a.locations[0]
    url = checkout_start(location=location, plan=plan, acting_user=world.a.client_admin)
    session_id = url.rstrip("/").rsplit("/", 1)[-1]
    session = standin.client().v1.checkout.sessions.retrieve(
        session_id,
        options={"stripe_account": account.stripe_account_id},  # type: ignore[arg-type]
    )
    assert session.mode == "subscription"
    assert session.client_reference_id == str(location.pk)
    assert session.metadata["location_id"] == str(location.pk)
    assert session.success_url.startswith(f"http://{world.a.domain}/app/l/{location.pk}/billing/")
    assert session.cancel_url.startswith(f"http://{world.a.domain}/app/l/{location.pk}/billing/")
    paid = httpx.post(url, data={"card_number": "4242424242424242"}, trust_env=False)
    assert paid.status_code == 303
    remote = (
        standin.client()
        .v1.subscriptions.list(
            options={"stripe_account": account.stripe_account_id}  # type: ignore[arg-type]
        )
        .data[0]
    )
    assert remote.status == "trialing"
    assert remote.application_fee_percent == 10
    assert remote.metadata["location_id"] == str(location.pk)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("other agency's plan", "not on sale to this client"),
        ("inactive", "no longer on sale"),
        ("unsynced", "not ready in Stripe"),
        ("payouts disabled", "cannot take payments yet"),
        ("already subscribed", "already has a subscription"),
    ],
)
def test_checkout_is_refused_with_a_clear_message(
    world: World, standin: StripeStandIn, case: str, message: str
) -> None:
    account = _onboarded(standin, world.a)
    plan = _plan(world.a)
    location = world.a.locations[0]
    if case == "other agency's plan":
        plan = Plan.objects.create(
            agency=world.b.agency, name="B", amount=100, currency="usd", stripe_price_id="price_b"
        )
    elif case == "inactive":
        Plan.objects.for_agency(world.a.agency).filter(pk=plan.pk).update(active=False)
    elif case == "unsynced":
        Plan.objects.for_agency(world.a.agency).filter(pk=plan.pk).update(stripe_price_id="")
    elif case == "payouts disabled":
        StripeAccount.objects.for_agency(world.a.agency).filter(pk=account.pk).update(
            payouts_enabled=False
        )
    else:
        Subscription.objects.create(
            location=location,
            plan=plan,
            stripe_account_id=account.stripe_account_id,
            stripe_subscription_id="sub_existing",
            status="past_due",
        )
    plan.refresh_from_db()
    with pytest.raises(ApplicationError, match=message):
        checkout_start(location=location, plan=plan, acting_user=world.a.client_admin)
    sessions = standin.client().v1.checkout.sessions.list(
        options={"stripe_account": account.stripe_account_id}  # type: ignore[arg-type]
    )
    assert sessions.data == []
