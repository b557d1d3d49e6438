"""From a lead created in GHL to its agent written back to GHL: the ContactCreate webhook is
applied to the mirror, the lead is routed, and `assignedTo` is set through the GHL API."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from django.test import Client

from integrations.mirror.models import MirrorContact, MirrorOpportunity, MirrorPipeline, MirrorUser
from integrations.routing.models import RoutingDecision, RoutingRule
from integrations.routing.services import agent_profile_save, rule_save
from saas_platform.kernel.errors import ApplicationError
from sandbox.ghl.testing import StandIn
from tenants.models import Location
from tests.integrations.conftest import DUBAI

pytestmark = pytest.mark.django_db


def create_lead_in_ghl(ghl: StandIn, **fields: Any) -> tuple[str, dict[str, Any]]:
    """A person adds a contact in GHL; returns its id and the ContactCreate webhook GHL sent."""
    token = ghl.mint_token(location_id=DUBAI)["access_token"]
    answer = httpx.post(
        ghl.base_url + "/contacts/",
        json={"locationId": DUBAI, **fields},
        headers=ghl.api_headers(token, "/contacts/"),
        timeout=30,
    )
    answer.raise_for_status()
    contact_id = answer.json()["contact"]["id"]
    deadline = time.monotonic() + 10
    while True:
        sent = [d for d in ghl.webhooks(type="ContactCreate") if contact_id in d["body"]]
        if sent:
            return contact_id, sent[0]
        assert time.monotonic() < deadline, "GHL sent no ContactCreate for the new contact"
        time.sleep(0.05)


def deliver(delivery: dict[str, Any], capture: Any) -> None:
    headers = {
        f"HTTP_{name.upper().replace('-', '_')}": value
        for name, value in delivery["headers"].items()
        if name.lower().startswith("x-")
    }
    with capture(execute=True):  # the inbox processes it; the lead's task runs (eagerly)
        answer = Client(HTTP_HOST="localhost").post(
            "/integrations/ghl/webhooks",
            delivery["body"].encode(),
            content_type="application/json",
            **headers,
        )
    assert answer.json() == {"status": "accepted"}


def ghl_contact(ghl: StandIn, contact_id: str) -> dict[str, Any]:
    token = ghl.mint_token(location_id=DUBAI)["access_token"]
    path = f"/contacts/{contact_id}"
    answer = httpx.get(ghl.base_url + path, headers=ghl.api_headers(token, path), timeout=30)
    answer.raise_for_status()
    contact: dict[str, Any] = answer.json()["contact"]
    return contact


def test_a_new_lead_is_routed_and_its_agent_written_to_ghl(
    dubai: Location, ghl: StandIn, django_capture_on_commit_callbacks: Any
) -> None:
    agents = sorted(MirrorUser.objects.for_location(dubai).values_list("ghl_id", flat=True))[:2]
    assert len(agents) == 2
    for agent in agents:
        agent_profile_save(location=dubai, ghl_user_id=agent)
    rule_save(location=dubai, name="Everyone", pool={"agents": agents})

    chosen = []
    for n in range(2):
        contact_id, delivery = create_lead_in_ghl(ghl, firstName=f"Lead {n}", email=f"l{n}@x.test")
        deliver(delivery, django_capture_on_commit_callbacks)
        decision = RoutingDecision.objects.for_location(dubai).get(contact_ghl_id=contact_id)
        assert decision.status == "assigned" and decision.ghl_written_at is not None
        assert ghl_contact(ghl, contact_id)["assignedTo"] == decision.agent_ghl_id
        mirrored = MirrorContact.objects.for_location(dubai).get(ghl_id=contact_id)
        assert mirrored.assigned_to == decision.agent_ghl_id
        chosen.append(decision.agent_ghl_id)
    assert sorted(chosen) == agents  # round robin: one each


def test_without_rules_a_lead_is_only_mirrored(
    dubai: Location, ghl: StandIn, django_capture_on_commit_callbacks: Any
) -> None:
    contact_id, delivery = create_lead_in_ghl(ghl, firstName="Solo", email="solo@x.test")
    deliver(delivery, django_capture_on_commit_callbacks)
    assert MirrorContact.objects.for_location(dubai).filter(ghl_id=contact_id).exists()
    assert not RoutingDecision.objects.for_location(dubai).exists()
    assert not ghl_contact(ghl, contact_id).get("assignedTo")


def test_a_rule_with_a_pipeline_opens_the_leads_opportunity_in_its_stage(
    dubai: Location, ghl: StandIn, django_capture_on_commit_callbacks: Any
) -> None:
    agent = MirrorUser.objects.for_location(dubai).order_by("ghl_id").values_list("ghl_id")[0][0]
    agent_profile_save(location=dubai, ghl_user_id=agent)
    pipeline = MirrorPipeline.objects.for_location(dubai).order_by("ghl_id").first()
    assert pipeline is not None and len(pipeline.stages) > 1
    stage = pipeline.stages[1]["id"]
    rule_save(
        location=dubai,
        name="New leads",
        pool={"agents": [agent]},
        pipeline_id=pipeline.ghl_id,
        stage_id=stage,
    )
    contact_id, delivery = create_lead_in_ghl(ghl, firstName="Mona", lastName="Haddad")
    deliver(delivery, django_capture_on_commit_callbacks)

    decision = RoutingDecision.objects.for_location(dubai).get(contact_ghl_id=contact_id)
    assert decision.ghl_opportunity_id and decision.ghl_error == ""
    opportunity = MirrorOpportunity.objects.for_location(dubai).get(
        ghl_id=decision.ghl_opportunity_id
    )
    assert (opportunity.contact_ghl_id, opportunity.pipeline_ghl_id) == (
        contact_id,
        pipeline.ghl_id,
    )
    assert (opportunity.stage_ghl_id, opportunity.assigned_to) == (stage, agent)
    assert opportunity.name == "Mona Haddad"


def test_a_rule_naming_a_missing_pipeline_or_stage_is_refused(dubai: Location) -> None:
    agent = MirrorUser.objects.for_location(dubai).order_by("ghl_id").values_list("ghl_id")[0][0]
    agent_profile_save(location=dubai, ghl_user_id=agent)
    pipeline = MirrorPipeline.objects.for_location(dubai).order_by("ghl_id").first()
    assert pipeline is not None
    cases = [
        ({"pipeline_id": "nope", "stage_id": "x"}, "has no pipeline"),
        ({"pipeline_id": pipeline.ghl_id, "stage_id": "nope"}, "has no stage"),
        ({"pipeline_id": pipeline.ghl_id}, "both the pipeline and the stage"),
    ]
    for options, message in cases:
        with pytest.raises(ApplicationError, match=message):
            rule_save(location=dubai, name="R", pool={"agents": [agent]}, **options)
    assert not RoutingRule.objects.for_location(dubai).exists()
