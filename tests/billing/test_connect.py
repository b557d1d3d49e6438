"""Connect onboarding for agencies, and clients' subscriptions on the agency's connected account
with the platform's application fee."""

from __future__ import annotations

import pytest
from django.test import override_settings

from billing.models import Plan, StripeAccount, Subscription
from billing.services.connect import connect_account_refresh, connect_onboarding_start
from billing.services.subscriptions import subscription_create
from saas_platform.kernel.errors import ApplicationError
from tenants.models import LocationEntitlements
from tests.billing.stripe_wire import StripeWire
from tests.conftest import World

URLS = {"return_url": "https://a.example/billing/", "refresh_url": "https://a.example/retry/"}


def test_onboarding_creates_one_branded_account_and_links_to_it(
    world: World, stripe_wire: StripeWire
) -> None:
    url = connect_onboarding_start(agency=world.a.agency, acting_user=world.a.owner, **URLS)
    account = StripeAccount.objects.for_agency(world.a.agency).get()
    assert url.startswith(f"https://connect.stripe.com/setup/e/{account.stripe_account_id}/")
    (created,) = stripe_wire.creates("/v1/accounts")
    # The hosted pages carry the agency's brand, never the platform's.
    assert created.form["business_profile[name]"] == "Brand A"
    assert created.form["settings[branding][primary_color]"] == "#123456"
    assert created.idempotency_key == f"agency-{world.a.agency.pk}-account"
    assert not account.payouts_enabled
    assert account.requirements_due == ["external_account", "tos_acceptance.date"]

    connect_onboarding_start(agency=world.a.agency, acting_user=world.a.owner, **URLS)
    assert len(stripe_wire.creates("/v1/accounts")) == 1
    assert len(stripe_wire.creates("/v1/account_links")) == 2


def test_refresh_copies_what_stripe_says_now(world: World, stripe_wire: StripeWire) -> None:
    connect_onboarding_start(agency=world.a.agency, acting_user=None, **URLS)
    account = StripeAccount.objects.for_agency(world.a.agency).get()
    stripe_wire.objects[account.stripe_account_id].update(
        charges_enabled=True,
        payouts_enabled=True,
        details_submitted=True,
        requirements={"currently_due": []},
    )
    refreshed = connect_account_refresh(stripe_account_id=account.stripe_account_id)
    assert refreshed.ready and refreshed.requirements_due == []


@override_settings(BILLING_PLATFORM_FEE_PERCENT=12.5)
def test_a_subscription_is_on_the_connected_account_with_the_platform_fee(
    world: World, plan: Plan, stripe_wire: StripeWire
) -> None:
    location = world.a.locations[0]
    subscription = subscription_create(
        location=location, plan=plan, email="client@a.test", acting_user=world.a.owner
    )
    created = [c for c in stripe_wire.calls if c.method == "POST"]
    # every object the platform creates for this client lives on the agency's account
    assert {c.account for c in created} == {"acct_AgencyA0000001"}
    (sub_call,) = stripe_wire.creates("/v1/subscriptions")
    assert sub_call.form["application_fee_percent"] == "12.5"
    assert sub_call.form["trial_period_days"] == "14"
    assert sub_call.form["items[0][price]"] == plan.stripe_price_id
    assert sub_call.form["metadata[location_id]"] == str(location.pk)
    assert subscription.status == Subscription.Status.TRIALING
    assert subscription.plan == plan
    assert subscription.current_period_end is not None
    entitlements = LocationEntitlements.objects.for_location(location).get()
    assert entitlements.state == "active"
    assert entitlements.granted == plan.entitlements


def test_a_plan_of_another_agency_cannot_be_sold_to_a_client(world: World, plan: Plan) -> None:
    with pytest.raises(ApplicationError, match="not on sale"):
        subscription_create(
            location=world.b.locations[0], plan=plan, email="x@b.test", acting_user=None
        )
