"""A client pays for its agency's plan and lives through a failed payment, in a real browser on
the agency's domain, against the Stripe stand-in process (its hosted Checkout, its clock and its
signed webhooks reaching our live server):

invited → signs up → billing page → plan → the stand-in's hosted Checkout, under the agency's
brand → 4242… → back on the portal, subscribed, routing granted; then the renewal fails
(the stand-in's control API and clock) → past due: banner and a branded reminder e-mail → the
grace period runs out → features paused, data still readable → the card works again → restored.

One test on purpose: every browser test pays a database flush.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import Page, expect

from billing.models import StripeAccount, Subscription
from billing.services.connect import connect_account_refresh, connect_onboarding_start
from billing.services.dunning import subscriptions_dunning_run
from billing.services.plans import plan_save
from sandbox.stripe.testing import StripeStandIn
from tenants import selectors, services
from tenants.models import LocationEntitlements, Membership
from tests.conftest import World
from tests.e2e.test_journey import PASSWORD, _link_in, _next_mail, _sign_in

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT = "lina@client.test"
PLAN = {"routing": True, "reports": True, "connectors": 2, "seats": 5, "contact_limit": 5000}


def _wait_for(condition: Callable[[], bool], what: str, seconds: float = 20.0) -> None:
    """The stand-in's webhooks reach the live server on its own thread: wait for their effect."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _state(location: Any) -> str | None:
    record = LocationEntitlements.objects.for_location(location).first()
    return None if record is None else str(record.state)


def test_a_client_subscribes_falls_behind_is_paused_and_is_restored(
    page: Page,
    world: World,
    portal_url: Any,
    live_server: Any,
    stripe_standin: StripeStandIn,
    artifacts: Path,
    settings: Any,
) -> None:
    cache.clear()  # allauth counts sends and attempts per address in the cache: start with none
    tenant, location = world.a, world.a.locations[0]
    brand = tenant.agency.branding.display_name
    domain = tenant.domain
    settings.PUBLIC_PORT = portal_url(domain).rsplit(":", 1)[1].rstrip("/")
    settings.STRIPE_API_BASE = stripe_standin.base_url
    settings.STRIPE_SECRET_KEY = stripe_standin.api_key
    settings.PLATFORM_HOSTS = ["localhost", "127.0.0.1"]

    def on_a(path: str) -> str:
        return str(portal_url(domain, path))

    def shot(name: str) -> None:
        page.screenshot(path=str(artifacts / f"subscription-{name}.png"), full_page=True)

    # The agency side (its own screens and tests): the stand-in delivers every event of the
    # connected accounts to our Connect endpoint; the agency's account is onboarded under its
    # brand; it sells one plan.
    endpoint = stripe_standin.client().v1.webhook_endpoints.create(
        params={
            "url": f"{live_server.url}/billing/stripe/connect-webhooks",
            "enabled_events": ["*"],
            "connect": True,
        }
    )
    settings.STRIPE_CONNECT_WEBHOOK_SECRETS = [endpoint.secret]
    back = selectors.agency_portal_url(tenant.agency, "/admin/")
    onboarding = connect_onboarding_start(
        agency=tenant.agency, acting_user=tenant.owner, return_url=back, refresh_url=back
    )
    httpx.post(onboarding, data={"business_name": brand}, trust_env=False)
    account = connect_account_refresh(
        stripe_account_id=StripeAccount.objects.for_agency(tenant.agency).get().stripe_account_id
    )
    assert account.charges_enabled
    plan_save(
        agency=tenant.agency,
        data={"name": "Growth", "amount": 9900, "currency": "usd", "entitlements": PLAN},
        acting_user=tenant.owner,
    )

    # The client's admin is invited and signs up on the agency's domain.
    mail.outbox.clear()
    services.invitation_create(
        location=location, email=CLIENT, role=Membership.Role.CLIENT_ADMIN, acting_user=tenant.owner
    )
    page.goto(_link_in(mail.outbox[0], on_a))
    page.get_by_label("Your name").fill("Lina Haddad")
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.goto(_link_in(_next_mail(after=1), on_a))
    page.get_by_role("button", name="Confirm").click()
    _sign_in(page, on_a("/accounts/login/"), CLIENT)
    expect(page).to_have_url(on_a("/app/"))

    # Billing page → the plan → the stand-in's hosted Checkout, under the agency's brand.
    workspace = f"/app/l/{location.pk}"
    page.goto(on_a(f"{workspace}/billing/"))
    shot("1-billing")
    page.get_by_role("button", name="Choose the Growth plan").click()
    page.wait_for_url(re.compile(re.escape(f"{stripe_standin.base_url}/c/pay/")))
    expect(page.locator(".brand")).to_have_text(brand)
    expect(page.locator("body")).not_to_contain_text("Stand-in Platform")
    shot("2-checkout")
    expect(page.get_by_label("Email")).to_have_value(CLIENT)  # the signed-in client's
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Subscribe").click()

    # Back on the portal: subscribed, the plan's entitlements granted.
    page.wait_for_url(re.compile(re.escape(on_a(f"{workspace}/billing/"))))
    _wait_for(
        lambda: Subscription.objects.for_location(location).filter(status="active").exists(),
        "the subscription to be active",
    )
    assert selectors.location_entitlements(location) == PLAN
    page.reload()
    expect(page.locator(".badge.ok", has_text="Active")).to_be_visible()
    page.goto(on_a(f"{workspace}/routing/"))
    expect(page.get_by_role("link", name="New rule")).to_be_visible()
    expect(page.locator("[data-plan-notice]")).to_have_count(0)
    shot("3-subscribed")

    # The renewal fails: the card is refused from now on and the stand-in's clock moves a month.
    subscription = Subscription.objects.for_location(location).get()
    sent = len(mail.outbox)
    stripe_standin.fail_payments(customer=subscription.stripe_customer_id)
    stripe_standin.advance(days=31)
    _wait_for(lambda: _state(location) == "grace", "the grace period to start")
    page.reload()
    banner = page.locator('[data-plan-notice="grace"]')
    expect(banner).to_contain_text("Your last payment did not go through")
    expect(banner.get_by_role("link", name="Go to billing")).to_be_visible()
    expect(page.get_by_role("link", name="New rule")).to_be_visible()  # still on in grace
    shot("4-past-due")
    reminder = _next_mail(after=sent)
    assert CLIENT in reminder.to  # with the location's other admin
    assert reminder.subject == f"{brand}: your payment did not go through"
    assert reminder.from_email.startswith(brand)
    assert f"{domain}:{settings.PUBLIC_PORT}/billing/portal/{location.pk}/" in str(reminder.body)

    # The grace period runs out (our clock, moved past it): features pause, data stays. Every
    # event of the failed renewal is in first: a late one would re-apply the grace by the wall
    # clock (rightly: it is not over yet), undoing a pause made with our clock moved on.
    _wait_for(
        lambda: all(d["status"] in ("delivered", "failed") for d in stripe_standin.deliveries()),
        "the stand-in's deliveries to settle",
    )
    after_grace = timezone.now() + timedelta(days=django_settings.BILLING_GRACE_DAYS, hours=1)
    assert subscriptions_dunning_run(now=after_grace)["paused"] == 1
    page.reload()
    expect(page.locator('[data-plan-notice="paused"]')).to_be_visible()
    expect(page.locator('[data-feature-notice="routing"]')).to_contain_text("Billing is paused")
    expect(page.get_by_role("link", name="New rule")).to_have_count(0)
    shot("5-paused-routing")
    page.goto(on_a(f"{workspace}/dashboard/"))
    expect(page.get_by_role("heading", name="Your reports are paused")).to_be_visible()
    shot("6-paused-dashboard")

    # The card works again: Stripe's retry collects the invoice and everything comes back.
    stripe_standin.clear_failures()
    stripe_standin.run_retries()
    _wait_for(lambda: _state(location) == "active", "the entitlements to be restored")
    page.goto(on_a(f"{workspace}/routing/"))
    expect(page.get_by_role("link", name="New rule")).to_be_visible()
    expect(page.locator("[data-plan-notice]")).to_have_count(0)
    shot("7-restored")
