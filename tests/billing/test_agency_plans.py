"""The plans editor on the agency pages (/app/agency/billing/plans/), against the Stripe stand-in:
Connect onboarding from the page, plans created, edited and archived through ``plan_save`` on the
agency's connected account, and bad input refused beside its field with nothing stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from billing.models import Plan, StripeAccount
from sandbox.stripe.testing import StripeStandIn
from tenants.models import AuditLogEntry
from tests.billing.test_checkout import _onboarded, _plan
from tests.conftest import World

pytestmark = pytest.mark.django_db
URL = "/app/agency/billing/plans/"
FORM = {
    "name": "Starter",
    "amount": "4900",
    "currency": "usd",
    "interval": "month",
    "trial_days": "7",
    "entitlements": '{"routing": true, "reports": true, "seats": 3}',
}


@pytest.fixture
def standin(stripe_standin: StripeStandIn, settings: Any) -> StripeStandIn:
    settings.STRIPE_API_BASE = stripe_standin.base_url
    settings.STRIPE_SECRET_KEY = stripe_standin.api_key
    return stripe_standin


def _price(standin: StripeStandIn, plan: Plan, account: StripeAccount) -> Any:
    return standin.client().v1.prices.retrieve(
        plan.stripe_price_id, options={"stripe_account": account.stripe_account_id}
    )


def test_connect_stripe_starts_onboarding_on_the_agencys_account(
    world: World, standin: StripeStandIn, agency_client: Callable[..., Client]
) -> None:
    client = agency_client(world.a, world.a.owner)
    text = client.get(URL).text
    assert "Not connected" in text and "Connect Stripe" in text and "No plans yet." in text
    response = client.post("/app/agency/billing/connect/")
    assert response.status_code == 302
    assert response["Location"].startswith(standin.base_url)
    account = StripeAccount.objects.for_agency(world.a.agency).get()
    assert not account.ready
    assert "Continue onboarding" in client.get(URL).text


def test_a_plan_made_on_the_page_is_a_price_on_the_agencys_account(
    world: World, standin: StripeStandIn, agency_client: Callable[..., Client]
) -> None:
    account = _onboarded(standin, world.a)
    client = agency_client(world.a, world.a.admin)
    assert 'badge ok">Ready' in client.get(URL).text
    response = client.post(URL, FORM)
    assert response.status_code == 302 and response["Location"] == URL
    plan = Plan.objects.for_agency(world.a.agency).get()
    assert (plan.amount, plan.trial_days, plan.entitlements["seats"]) == (4900, 7, 3)
    price = _price(standin, plan, account)
    assert (price.unit_amount, price.recurring.interval) == (4900, "month")
    entry = AuditLogEntry.objects.for_agency(world.a.agency).get(action="plan.saved")
    assert entry.actor == world.a.admin
    text = client.get(URL).text
    assert "Plan “Starter” saved." in text and "On sale" in text and "49.00 USD" in text


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"amount": "-5"}, "amount", "greater than or equal to 0"),
        ({"interval": "fortnight"}, "interval", "Select a valid choice"),
        ({"entitlements": "{not json"}, "entitlements", "Enter a valid JSON"),
    ],
)
def test_bad_input_is_shown_beside_its_field_and_nothing_is_stored(
    world: World,
    standin: StripeStandIn,
    agency_client: Callable[..., Client],
    change: dict[str, str],
    field: str,
    message: str,
) -> None:
    _onboarded(standin, world.a)
    response = agency_client(world.a, world.a.owner).post(URL, {**FORM, **change})
    assert response.status_code == 400
    assert message in response.text.split(f'id="id_{field}_error"')[1].split("</ul>")[0]
    assert not Plan.objects.for_agency(world.a.agency).exists()


def test_service_refusals_are_shown_on_the_form(
    world: World, standin: StripeStandIn, agency_client: Callable[..., Client]
) -> None:
    client = agency_client(world.a, world.a.owner)
    response = client.post(URL, FORM)  # no Stripe account yet
    assert response.status_code == 400 and "Connect a Stripe account" in response.text
    _onboarded(standin, world.a)
    response = client.post(URL, {**FORM, "entitlements": '{"teleport": true}'})
    assert response.status_code == 400 and "Unknown entitlements: teleport" in response.text
    assert not Plan.objects.for_agency(world.a.agency).exists()


def test_edit_makes_a_new_price_and_archive_takes_it_off_sale(
    world: World, standin: StripeStandIn, agency_client: Callable[..., Client]
) -> None:
    account = _onboarded(standin, world.a)
    plan = _plan(world.a)
    first_price = plan.stripe_price_id
    client = agency_client(world.a, world.a.owner)
    assert 'value="Growth"' in client.get(f"{URL}{plan.pk}/").text
    response = client.post(f"{URL}{plan.pk}/", {**FORM, "name": "Growth", "amount": "12900"})
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.amount == 12900 and plan.stripe_price_id != first_price
    assert _price(standin, plan, account).unit_amount == 12900

    assert client.post(f"{URL}{plan.pk}/archive/").status_code == 302
    plan.refresh_from_db()
    assert not plan.active
    assert "Put back on sale" in client.get(URL).text
    client.post(f"{URL}{plan.pk}/archive/", {"restore": "1"})
    plan.refresh_from_db()
    assert plan.active


def test_staff_read_only_and_another_agencys_plan_is_a_404(
    world: World, standin: StripeStandIn, agency_client: Callable[..., Client]
) -> None:
    _onboarded(standin, world.a)
    plan = _plan(world.a)
    theirs = Plan.objects.create(agency=world.b.agency, name="B secret", amount=1, currency="usd")
    staff = agency_client(world.a, world.a.staff)
    text = staff.get(URL).text
    assert "Growth" in text and "New plan" not in text and "B secret" not in text
    assert staff.post(URL, FORM).status_code == 403
    assert staff.get(f"{URL}{plan.pk}/").status_code == 403
    owner = agency_client(world.a, world.a.owner)
    assert owner.get(f"{URL}{theirs.pk}/").status_code == 404
    assert owner.post(f"{URL}{theirs.pk}/archive/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.active
