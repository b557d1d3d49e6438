"""An agency buys one of the platform's own plans on its subscription page
(/app/agency/billing/), against the Stripe stand-in on the *platform* account: Checkout, the
signed `checkout.session.completed` on the platform endpoint, the plan's agency entitlements,
invoices, the trial, and the dunning that pauses and restores the entitlements."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from billing.models import AgencySubscription, Plan, StripeEvent
from billing.services.agency_dunning import agency_subscriptions_dunning_run
from billing.services.agency_subscriptions import (
    agency_checkout_start,
    agency_subscription_refresh,
)
from billing.services.plans import plan_save
from saas_platform.kernel.errors import ApplicationError
from sandbox.stripe.testing import StripeStandIn
from tenants import services as tenant_services
from tenants.models import AgencyEntitlements, Location
from tests.billing.test_checkout import _wait_for
from tests.conftest import World

PAGE = "/app/agency/billing/"
GRANTS = {"max_locations": 3, "custom_domains": 1, "api_access": True, "agency_seats": 5}


@pytest.fixture
def standin(stripe_standin: StripeStandIn, settings: Any) -> StripeStandIn:
    settings.STRIPE_API_BASE = stripe_standin.base_url
    settings.STRIPE_SECRET_KEY = stripe_standin.api_key
    return stripe_standin


def _platform_plan(world: World, **overrides: Any) -> Plan:
    data = {"name": "Agency Pro", "amount": 29900, "currency": "usd", "entitlements": GRANTS}
    return plan_save(agency=None, data={**data, **overrides}, acting_user=world.operator)


def _page(client: Client, query: str = "") -> str:
    response = client.get(f"{PAGE}{query}")
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _pay(url: str) -> httpx.Response:
    paid = httpx.post(
        url, data={"email": "owner@a.test", "card_number": "4242 4242 4242 4242"}, trust_env=False
    )
    assert paid.status_code == 303, paid.text
    return paid


def _subscribed(world: World, standin: StripeStandIn, plan: Plan) -> AgencySubscription:
    """Checkout paid on the hosted page, then the subscription re-read as the handler does."""
    _pay(agency_checkout_start(agency=world.a.agency, plan=plan, acting_user=world.a.owner))
    (remote,) = standin.client().v1.subscriptions.list().data
    subscription = agency_subscription_refresh(subscription_id=remote.id)
    assert subscription is not None
    return subscription


@pytest.mark.django_db(transaction=True)
def test_choose_a_plan_pay_and_get_its_entitlements_on_the_platform_account(
    world: World,
    standin: StripeStandIn,
    live_server: Any,
    settings: Any,
    agency_client: Callable[..., Client],
) -> None:
    settings.PLATFORM_HOSTS = ["localhost", "127.0.0.1"]
    sdk = standin.client()
    # The platform account's endpoint (not Connect): only this event, so none outlives the test.
    endpoint = sdk.v1.webhook_endpoints.create(
        params={
            "url": f"{live_server.url}/billing/stripe/webhooks",
            "enabled_events": ["checkout.session.completed"],
        }
    )
    settings.STRIPE_WEBHOOK_SECRETS = [endpoint.secret]
    plan = _platform_plan(world)
    client = agency_client(world.a, world.a.owner)

    before = _page(client)
    assert "No plan yet" in before and "Choose Agency Pro" in before
    assert "299.00 USD" in before and "Locations: 3" in before
    started = client.post(f"{PAGE}subscribe/{plan.pk}/")
    assert started.status_code == 303
    back = _pay(started["Location"]).headers["location"]
    assert back.startswith(f"http://{world.a.domain}{PAGE}?checkout=success")

    _wait_for(
        lambda: StripeEvent.objects.filter(
            source="platform", event_type="checkout.session.completed", status="succeeded"
        ).exists()
    )
    subscription = AgencySubscription.objects.for_agency(world.a.agency).get()
    remote = sdk.v1.subscriptions.retrieve(subscription.stripe_subscription_id)
    assert (subscription.status, subscription.plan_id) == ("active", plan.pk)
    assert subscription.stripe_customer_id == remote.customer
    # The platform's own money: no connected account, no application fee.
    assert remote.application_fee_percent is None
    assert sdk.v1.application_fees.list().data == []
    record = AgencyEntitlements.objects.for_agency(world.a.agency).get()
    assert (record.state, record.granted) == ("active", GRANTS)
    assert not AgencyEntitlements.objects.for_agency(world.b.agency).exists()

    after = _page(client, "?checkout=success")
    assert "your payment went through" in after
    assert '<span class="badge ok">Active</span>' in after and "Next invoice" in after
    assert "Choose Agency Pro" not in after and "Manage billing" in after
    (invoice,) = sdk.v1.invoices.list(params={"customer": subscription.stripe_customer_id}).data
    assert invoice.number in after and invoice.invoice_pdf in after
    assert invoice.hosted_invoice_url in after
    # The portal opens on the platform account for the agency's own customer.
    manage = client.get(f"{PAGE}manage/")
    assert manage.status_code == 302 and "/p/session/bps_" in manage["Location"]

    # The plan's max_locations holds: two locations exist, one more fits, the next is refused.
    tenant_services.location_create(agency=world.a.agency, name="Third", acting_user=None)
    with pytest.raises(ApplicationError, match="allows 3 locations"):
        tenant_services.location_create(agency=world.a.agency, name="Fourth", acting_user=None)

    again = client.post(f"{PAGE}subscribe/{plan.pk}/", follow=True)
    assert "already has a platform subscription" in again.content.decode()


def test_a_trial_is_shown_with_its_end(
    world: World, standin: StripeStandIn, agency_client: Callable[..., Client]
) -> None:
    plan = _platform_plan(world, trial_days=30)
    subscription = _subscribed(world, standin, plan)
    assert subscription.status == "trialing" and subscription.trial_end is not None
    text = _page(agency_client(world.a, world.a.admin))
    trial_end = f"{subscription.trial_end:%-d %b %Y}"
    assert "Trialing" in text and f"<dt>Trial ends</dt><dd>{trial_end}</dd>" in text
    assert AgencyEntitlements.objects.for_agency(world.a.agency).get().state == "active"


def test_failed_payment_grace_reminder_pause_and_restore(
    world: World,
    standin: StripeStandIn,
    settings: Any,
    agency_client: Callable[..., Client],
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.BILLING_GRACE_DAYS = 7
    world.a.agency.name = "O'Brien Realty"  # a plain-text mail shows it as typed, unescaped
    world.a.agency.save(update_fields=["name"])
    plan = _platform_plan(world, entitlements={"max_locations": 2})
    subscription = _subscribed(world, standin, plan)
    assert subscription.status == "active"

    # The renewal's card is declined: Stripe makes the subscription past due.
    standin.fail_payments(customer=subscription.stripe_customer_id)
    standin.advance(days=32)
    with django_capture_on_commit_callbacks(execute=True):
        subscription = agency_subscription_refresh(
            subscription_id=subscription.stripe_subscription_id
        )  # type: ignore[assignment]
    assert subscription.status == "past_due" and subscription.grace_until is not None
    record = AgencyEntitlements.objects.for_agency(world.a.agency).get()
    assert (record.state, record.effective) == ("grace", {"max_locations": 2})
    # The reminder: from the platform, to the agency's owner and admin, linking to its page.
    (reminder,) = mail.outbox
    assert reminder.to == sorted([world.a.admin.email, world.a.owner.email])
    assert reminder.from_email.startswith(f"{settings.PLATFORM_NAME} <")
    assert f"://{world.a.domain}{PAGE}manage/" in reminder.body
    assert f"O'Brien Realty's {settings.PLATFORM_NAME} plan did not go through" in reminder.body
    text = _page(agency_client(world.a, world.a.owner))
    assert "Your agency's last payment did not go through" in text

    # Grace over: the periodic run pauses the plan; nothing is deleted.
    later = subscription.grace_until + timedelta(minutes=1)
    assert agency_subscriptions_dunning_run(now=later) == {"paused": 1, "reminded": 0}
    assert agency_subscriptions_dunning_run(now=later) == {"paused": 0, "reminded": 0}
    record.refresh_from_db()
    assert (record.state, record.granted) == ("paused", {"max_locations": 2})
    assert Location.objects.for_agency(world.a.agency).count() == 2
    with pytest.raises(ApplicationError, match="paused"):
        tenant_services.location_create(agency=world.a.agency, name="New", acting_user=None)
    assert "plan is paused" in _page(agency_client(world.a, world.a.owner))

    # Paid: the retry succeeds, Stripe says active, everything is back.
    standin.clear_failures()
    standin.run_retries()
    subscription = agency_subscription_refresh(subscription_id=subscription.stripe_subscription_id)  # type: ignore[assignment]
    assert subscription.status == "active" and subscription.grace_until is None
    record.refresh_from_db()
    assert (record.state, record.effective) == ("active", {"max_locations": 2})
    with pytest.raises(ApplicationError, match="allows 2 locations"):
        tenant_services.location_create(agency=world.a.agency, name="New", acting_user=None)
    assert len(mail.outbox) == 1
    assert timezone.now() < later  # the run's clock was moved, not the test's


def test_no_plans_on_sale_says_so(
    world: World, standin: StripeStandIn, agency_client: Callable[..., Client]
) -> None:
    Plan.objects.create(agency=None, name="Draft", amount=100, currency="usd")  # not in Stripe
    Plan.objects.create(agency=world.a.agency, name="Client plan", amount=100, currency="usd")
    text = _page(agency_client(world.a, world.a.owner))
    assert "No plans are on sale to agencies yet" in text
    assert "Draft" not in text and "Client plan" not in text and "Invoices" not in text


def test_staff_cannot_open_it_and_it_is_in_the_owners_navigation(
    world: World, agency_client: Callable[..., Client]
) -> None:
    assert agency_client(world.a, world.a.staff).get(PAGE).status_code == 403
    owner_nav = agency_client(world.a, world.a.owner).get("/app/agency/").content.decode()
    staff_nav = agency_client(world.a, world.a.staff).get("/app/agency/").content.decode()
    assert f'href="{PAGE}"' in owner_nav and f'href="{PAGE}"' not in staff_nav
