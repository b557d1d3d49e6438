"""Payment rules on the client's Payments page and in `automation_save`: validation with clear
refusals that store nothing, audit rows for every change, switching on and off, and the list of
payment requests (empty state, paging, links)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from billing.models import PaymentAutomation
from billing.services.automations import automation_save, automations_want
from saas_platform.kernel.errors import ApplicationError
from tenants.events import OPPORTUNITY_WON
from tenants.models import AuditLogEntry
from tests import factories
from tests.conftest import AgencyClient, World

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(world: World, agency_client: AgencyClient) -> Client:
    return agency_client(world.a, world.a.client_admin)


def _base(world: World) -> str:
    return f"/app/l/{world.a.locations[0].pk}/payments/"


GOOD = {"name": "Deposit", "currency": "aed", "days_until_due": "7", "enabled": "on"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "currency": "usd"}, "needs a name"),
        ({"name": "x", "currency": "zzz"}, "does not support the currency"),
        ({"name": "x", "currency": "usd", "days_until_due": 0}, "between 1 and 365"),
        ({"name": "x", "currency": "usd", "days_until_due": 400}, "between 1 and 365"),
        ({"name": "x", "currency": "usd", "action": "refund"}, "action must be"),
        ({"name": "x", "currency": "usd", "colour": "red"}, "cannot be set"),
    ],
)
def test_bad_rules_are_refused_and_nothing_is_stored(
    world: World, data: dict[str, Any], message: str
) -> None:
    with pytest.raises(ApplicationError, match=message):
        automation_save(location=world.a.locations[0], data=data, acting_user=world.a.owner)
    assert not PaymentAutomation.objects.unscoped().exists()
    assert (
        not AuditLogEntry.objects.unscoped()
        .filter(action__startswith="payment_automation")
        .exists()
    )


def test_the_empty_page_explains_and_offers_to_add(admin: Client, world: World) -> None:
    text = admin.get(_base(world)).content.decode()
    assert "No payment rules yet" in text and "No payment requests yet" in text
    assert 'aria-current="page">Payments' in text
    assert "GoHighLevel" not in text and "GHL" not in text


def test_a_rule_is_added_changed_and_switched_off_with_audit_rows(
    admin: Client, world: World
) -> None:
    location = world.a.locations[0]
    pipeline = factories.MirrorPipelineFactory(
        location=location,
        stages=[{"id": "st-won", "name": "Won"}, {"id": "st-paid", "name": "Paid"}],
    )
    form = admin.get(_base(world) + "rules/new/").content.decode()
    assert pipeline.name in form and "Paid" in form  # the location's own pipelines are offered
    created = admin.post(
        _base(world) + "rules/new/",
        {**GOOD, "pipeline_ghl_id": pipeline.ghl_id, "paid_stage_ghl_id": "st-paid"},
    )
    assert created.status_code == 302
    rule = PaymentAutomation.objects.for_location(location).get()
    assert (rule.currency, rule.pipeline_ghl_id, rule.paid_stage_ghl_id) == (
        "aed",
        pipeline.ghl_id,
        "st-paid",
    )
    assert (
        admin.post(
            f"{_base(world)}rules/{rule.pk}/",
            {
                **GOOD,
                "name": "Deposit 50%",
                "pipeline_ghl_id": pipeline.ghl_id,
                "days_until_due": "14",
            },
        ).status_code
        == 302
    )
    assert admin.post(f"{_base(world)}rules/{rule.pk}/toggle/").status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.days_until_due, rule.enabled) == ("Deposit 50%", 14, False)
    actions = list(
        AuditLogEntry.objects.unscoped()
        .filter(target_id=str(rule.pk))
        .order_by("id")
        .values_list("action", "changes")
    )
    assert [a for a, _ in actions] == [
        "payment_automation.created",
        "payment_automation.updated",
        "payment_automation.updated",
    ]
    assert actions[2][1] == {"enabled": [True, False]}
    assert actions[1][1]["days_until_due"] == [7, 14]
    assert "Turn on" in admin.get(_base(world)).content.decode()


def test_form_errors_name_the_field_and_store_nothing(admin: Client, world: World) -> None:
    location = world.a.locations[0]
    pipeline = factories.MirrorPipelineFactory(
        location=location, stages=[{"id": "st-a", "name": "A"}]
    )
    other = factories.MirrorPipelineFactory(location=location, stages=[{"id": "st-b", "name": "B"}])
    cases = [
        ({**GOOD, "name": ""}, "This field is required."),
        ({**GOOD, "days_until_due": "0"}, "greater than or equal to 1"),
        ({**GOOD, "currency": "xyz"}, "Select a valid choice"),
        ({**GOOD, "paid_stage_ghl_id": "st-a"}, "Choose the pipeline first"),
        (
            {**GOOD, "pipeline_ghl_id": other.ghl_id, "paid_stage_ghl_id": "st-a"},
            "not in the chosen pipeline",
        ),
        ({**GOOD, "pipeline_ghl_id": "not-ours"}, "Select a valid choice"),
    ]
    for data, message in cases:
        response = admin.post(_base(world) + "rules/new/", data)
        text = response.content.decode()
        assert response.status_code == 200 and message in text, (data, message)
        assert "Nothing was saved" in text
    assert pipeline.pk and not PaymentAutomation.objects.unscoped().exists()


def test_requests_are_listed_newest_first_with_links_and_paging(
    admin: Client, world: World
) -> None:
    location = world.a.locations[0]
    rule = factories.PaymentAutomationFactory(location=location)
    for _ in range(26):
        factories.PaymentRequestFactory(automation=rule, hosted_url="https://pay.test/i/x")
    factories.PaymentRequestFactory(
        automation=factories.PaymentAutomationFactory(location=world.a.locations[1]),
        opportunity_name="Sibling secret deal",
    )
    first = admin.get(_base(world)).content.decode()
    assert first.count("View invoice") == 25 and "Page 1 of 2" in first
    assert "1,200.00 USD" in first and "Sibling secret deal" not in first
    second = admin.get(_base(world) + "?page=2").content.decode()
    assert second.count("View invoice") == 1


def test_only_an_enabled_rule_asks_the_outbox_for_won_opportunities(world: World) -> None:
    location = world.a.locations[0]
    assert not automations_want(location.pk, OPPORTUNITY_WON)
    rule = factories.PaymentAutomationFactory(location=location)
    assert automations_want(location.pk, OPPORTUNITY_WON)
    assert not automations_want(location.pk, "contact.created")
    assert not automations_want(world.a.locations[1].pk, OPPORTUNITY_WON)
    rule.enabled = False
    rule.save()
    assert not automations_want(location.pk, OPPORTUNITY_WON)
