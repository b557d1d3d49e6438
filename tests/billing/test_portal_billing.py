"""The client's billing page in the workspace (/app/l/<id>/billing/), against the Stripe
stand-in: the plans on sale, Checkout from the page, the subscription and its invoices, and the
states a client meets before and after paying."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from django.test import Client

from billing.models import Plan, StripeAccount, StripeEvent, Subscription
from sandbox.stripe.testing import StripeStandIn
from tests.billing.test_checkout import _onboarded, _plan, _wait_for
from tests.conftest import World


@pytest.fixture
def standin(stripe_standin: StripeStandIn, settings: Any) -> StripeStandIn:
    settings.STRIPE_API_BASE = stripe_standin.base_url
    settings.STRIPE_SECRET_KEY = stripe_standin.api_key
    return stripe_standin


def _page(client: Client, location_id: int, query: str = "") -> str:
    response = client.get(f"/app/l/{location_id}/billing/{query}")
    assert response.status_code == 200, response.status_code
    return response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_choose_a_plan_pay_on_the_hosted_page_and_see_it_active_with_its_invoice(
    world: World,
    standin: StripeStandIn,
    live_server: Any,
    settings: Any,
    agency_client: Callable[..., Client],
) -> None:
    settings.PLATFORM_HOSTS = ["localhost", "127.0.0.1"]
    # Only the checkout's event is delivered, so none arrives after the test has ended.
    endpoint = standin.client().v1.webhook_endpoints.create(
        params={
            "url": f"{live_server.url}/billing/stripe/connect-webhooks",
            "enabled_events": ["checkout.session.completed"],
            "connect": True,
        }
    )
    settings.STRIPE_CONNECT_WEBHOOK_SECRETS = [endpoint.secret]
    _onboarded(standin, world.a)
    plan = _plan(world.a)
    location = world.a.locations[0]
    client = agency_client(world.a, world.a.client_admin)

    before = _page(client, location.pk)
    assert "No plan yet" in before and "Choose Growth" in before and "99.00 USD" in before
    started = client.post(f"/app/l/{location.pk}/billing/plans/{plan.pk}/checkout/")
    assert started.status_code == 303
    paid = httpx.post(
        started["Location"],
        data={"email": "payer@a.test", "card_number": "4242 4242 4242 4242"},
        trust_env=False,
    )
    assert paid.status_code == 303
    back = paid.headers["location"]
    assert back.startswith(f"http://{world.a.domain}/app/l/{location.pk}/billing/?checkout=success")

    _wait_for(
        lambda: StripeEvent.objects.filter(
            event_type="checkout.session.completed", status="succeeded"
        ).exists()
    )
    after = _page(client, location.pk, "?checkout=success")
    assert "your payment went through" in after
    assert '<span class="badge ok">Active</span>' in after
    assert "Choose Growth" not in after and "Next invoice" in after
    assert "Manage billing" in after and f"/billing/portal/{location.pk}/" in after
    subscription = Subscription.objects.for_location(location).get()
    invoices = (
        standin.client()
        .v1.invoices.list(
            params={"customer": subscription.stripe_customer_id},
            options={"stripe_account": subscription.stripe_account_id},  # type: ignore[arg-type]
        )
        .data
    )
    assert len(invoices) == 1 and invoices[0].status == "paid"
    assert invoices[0].number in after and "Paid" in after
    assert invoices[0].invoice_pdf in after and invoices[0].hosted_invoice_url in after
    pdf = httpx.get(invoices[0].invoice_pdf, trust_env=False)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    # The other location of the agency still has no plan.
    other = _page(agency_client(world.a, world.a.owner), world.a.locations[1].pk)
    assert "No plan yet" in other and invoices[0].number not in other


def test_an_agency_without_stripe_tells_the_client_whom_to_contact(
    world: World, agency_client: Callable[..., Client]
) -> None:
    world.a.agency.branding.support_email = "help@brand-a.test"
    world.a.agency.branding.save()
    text = _page(agency_client(world.a, world.a.client_admin), world.a.locations[0].pk)
    assert "Billing isn't available yet" in text
    assert 'href="mailto:help@brand-a.test"' in text
    assert "Choose" not in text


def test_a_connected_agency_without_plans_says_so(
    world: World, standin: StripeStandIn, agency_client: Callable[..., Client]
) -> None:
    _onboarded(standin, world.a)
    Plan.objects.create(agency=world.a.agency, name="Draft", amount=100, currency="usd")
    text = _page(agency_client(world.a, world.a.client_admin), world.a.locations[0].pk)
    assert "No plans are on sale yet" in text and "Draft" not in text


def test_a_past_due_client_is_asked_to_update_the_card(
    world: World, standin: StripeStandIn, agency_client: Callable[..., Client]
) -> None:
    account = _onboarded(standin, world.a)
    plan = _plan(world.a)
    location = world.a.locations[0]
    Subscription.objects.create(
        location=location,
        plan=plan,
        stripe_account_id=account.stripe_account_id,
        stripe_subscription_id="sub_pastdue",
        stripe_customer_id="cus_nobody",
        status="past_due",
    )
    text = _page(agency_client(world.a, world.a.client_admin), location.pk)
    assert 'role="alert"' in text and "Your last payment did not go through" in text
    assert f'href="/billing/portal/{location.pk}/">Update your card</a>' in text
    assert "Choose Growth" not in text and "No invoices yet" in text


def test_invoices_unavailable_does_not_break_the_page(
    world: World, agency_client: Callable[..., Client]
) -> None:
    """Stripe unreachable (the network is blocked in tests): the rest of the page still shows."""
    location = world.a.locations[0]
    StripeAccount.objects.create(
        agency=world.a.agency,
        stripe_account_id="acct_down",
        charges_enabled=True,
        payouts_enabled=True,
    )
    Subscription.objects.create(
        location=location,
        stripe_account_id="acct_down",
        stripe_subscription_id="sub_down",
        stripe_customer_id="cus_down",
        status="active",
    )
    text = _page(agency_client(world.a, world.a.client_admin), location.pk)
    assert "invoices can't be loaded right now" in text and "Active" in text


def test_checkout_refusals_come_back_as_a_message_on_the_page(
    world: World, standin: StripeStandIn, agency_client: Callable[..., Client]
) -> None:
    _onboarded(standin, world.a)
    plan = _plan(world.a)
    Plan.objects.for_agency(world.a.agency).filter(pk=plan.pk).update(active=False)
    location = world.a.locations[0]
    client = agency_client(world.a, world.a.client_admin)
    response = client.post(f"/app/l/{location.pk}/billing/plans/{plan.pk}/checkout/", follow=True)
    assert response.redirect_chain[-1][0] == f"/app/l/{location.pk}/billing/"
    assert "This plan is no longer on sale." in response.content.decode()


def test_agency_staff_see_billing_but_may_not_choose_a_plan(
    world: World, standin: StripeStandIn, agency_client: Callable[..., Client]
) -> None:
    _onboarded(standin, world.a)
    plan = _plan(world.a)
    location = world.a.locations[0]
    client = agency_client(world.a, world.a.staff)
    text = _page(client, location.pk)
    assert "Growth" in text and "Choose Growth" not in text
    assert "Only the business's administrators can choose a plan" in text
    url = f"/app/l/{location.pk}/billing/plans/{plan.pk}/checkout/"
    assert client.post(url).status_code == 403
    assert (
        standin.client()
        .v1.checkout.sessions.list(
            options={
                "stripe_account": StripeAccount.objects.for_agency(world.a.agency)
                .get()
                .stripe_account_id
            }  # type: ignore[arg-type]
        )
        .data
        == []
    )


def test_htmx_checkout_redirects_the_whole_browser(
    world: World, standin: StripeStandIn, agency_client: Callable[..., Client]
) -> None:
    _onboarded(standin, world.a)
    plan = _plan(world.a)
    location = world.a.locations[0]
    client = agency_client(world.a, world.a.client_admin)
    response = client.post(
        f"/app/l/{location.pk}/billing/plans/{plan.pk}/checkout/", HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 204 and "/c/pay/" in response["HX-Redirect"]


def test_a_trial_shows_its_end_and_a_cancellation_shows_no_next_invoice(
    world: World, standin: StripeStandIn, agency_client: Callable[..., Client]
) -> None:
    from billing.services.checkout import checkout_start
    from billing.services.subscriptions import subscription_refresh

    account = _onboarded(standin, world.a)
    plan = _plan(world.a, trial_days=14)
    location = world.a.locations[0]
    url = checkout_start(location=location, plan=plan, acting_user=world.a.client_admin)
    assert httpx.post(url, data={"card_number": "4242424242424242"}, trust_env=False).is_redirect
    on_account = {"stripe_account": account.stripe_account_id}
    remote = standin.client().v1.subscriptions.list(options=on_account).data[0]  # type: ignore[arg-type]
    subscription = subscription_refresh(
        account=account.stripe_account_id, subscription_id=remote.id
    )
    assert subscription is not None and subscription.trial_end is not None
    client = agency_client(world.a, world.a.client_admin)
    text = _page(client, location.pk)
    trial_end = f"{subscription.trial_end:%-d %b %Y}"
    assert "Trialing" in text and f"<dt>Trial ends</dt><dd>{trial_end}</dd>" in text
    assert f"<dt>Next invoice</dt><dd>{trial_end} · 99.00 USD</dd>" in text

    standin.client().v1.subscriptions.update(
        remote.id,
        params={"cancel_at_period_end": True},
        options=on_account,  # type: ignore[arg-type]
    )
    subscription = subscription_refresh(
        account=account.stripe_account_id, subscription_id=remote.id
    )
    assert subscription is not None and subscription.cancel_at_period_end
    text = _page(client, location.pk)
    assert "it will not renew" in text and "Next invoice" not in text


def test_a_second_checkout_reuses_the_clients_customer(
    world: World, standin: StripeStandIn
) -> None:
    """One customer per client on the account, so every invoice of the client lists together."""
    from billing.services.checkout import checkout_start

    account = _onboarded(standin, world.a)
    plan = _plan(world.a)
    location = world.a.locations[0]
    Subscription.objects.create(
        location=location,
        stripe_account_id=account.stripe_account_id,
        stripe_subscription_id="sub_old",
        stripe_customer_id="cus_existing",
        status="canceled",
    )
    customer = standin.client().v1.customers.create(
        params={"email": "old@a.test"},
        options={"stripe_account": account.stripe_account_id},  # type: ignore[arg-type]
    )
    Subscription.objects.for_location(location).update(stripe_customer_id=customer.id)
    url = checkout_start(location=location, plan=plan, acting_user=world.a.client_admin)
    session = standin.client().v1.checkout.sessions.retrieve(
        url.rstrip("/").rsplit("/", 1)[-1],
        options={"stripe_account": account.stripe_account_id},  # type: ignore[arg-type]
    )
    assert session.customer == customer.id


def test_invoices_page_older_and_back_to_the_newest(
    world: World,
    standin: StripeStandIn,
    agency_client: Callable[..., Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from billing.services.checkout import checkout_start
    from billing.services.subscriptions import subscription_refresh

    monkeypatch.setattr("billing.selectors.INVOICES_PER_PAGE", 2)
    account = _onboarded(standin, world.a)
    plan = _plan(world.a)
    location = world.a.locations[0]
    url = checkout_start(location=location, plan=plan, acting_user=world.a.client_admin)
    assert httpx.post(url, data={"card_number": "4242424242424242"}, trust_env=False).is_redirect
    on_account = {"stripe_account": account.stripe_account_id}
    remote = standin.client().v1.subscriptions.list(options=on_account).data[0]  # type: ignore[arg-type]
    subscription_refresh(account=account.stripe_account_id, subscription_id=remote.id)
    standin.advance(days=65)  # two renewals: three invoices in all
    numbers = [
        i.number
        for i in standin.client()
        .v1.invoices.list(params={"customer": remote.customer}, options=on_account)  # type: ignore[arg-type]
        .data
    ]
    assert len(numbers) == 3
    client = agency_client(world.a, world.a.client_admin)
    first = _page(client, location.pk)
    assert numbers[0] in first and numbers[1] in first and numbers[2] not in first
    assert "Older invoices" in first and "Newest invoices" not in first
    older = first.split('href="?after=')[1].split('"')[0]
    second = _page(client, location.pk, f"?after={older}")
    assert numbers[2] in second and numbers[0] not in second
    assert "Newest invoices" in second and "Older invoices" not in second
    # A cursor that is not an invoice id is ignored rather than sent on.
    assert numbers[0] in _page(client, location.pk, "?after=../../v1/customers")


def test_the_admin_pages_join_the_navigation_in_order(
    world: World, agency_client: Callable[..., Client]
) -> None:
    from tenants.portal import navigation

    location = world.a.locations[0]
    keys = [item.key for item in navigation(location=location, role="admin")]
    assert [k for k in keys if k in ("billing", "team", "settings")] == [
        "billing",
        "team",
        "settings",
    ]
    assert not {"billing", "team", "settings"} & {
        item.key for item in navigation(location=location, role="member")
    }


def test_a_checkout_stripe_refuses_is_explained_without_naming_the_provider(
    world: World, standin: StripeStandIn, agency_client: Callable[..., Client]
) -> None:
    _onboarded(standin, world.a)
    plan = _plan(world.a)
    Plan.objects.for_agency(world.a.agency).filter(pk=plan.pk).update(stripe_price_id="price_gone")
    location = world.a.locations[0]
    client = agency_client(world.a, world.a.client_admin)
    url = f"/app/l/{location.pk}/billing/plans/{plan.pk}/checkout/"
    text = client.post(url, follow=True).content.decode()
    assert "Payment cannot be started right now" in text and "Stripe" not in text
