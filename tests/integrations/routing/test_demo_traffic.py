"""The live demo end to end: a lead the stand-in's demo traffic makes in the real-estate location
reaches our webhook endpoint signed, lands in the mirror with its custom fields, and is routed
to the agent who covers its area — who is then written back to GHL."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from integrations.mirror.models import MirrorContact, MirrorUser
from integrations.routing.models import RoutingDecision
from integrations.routing.services import agent_profile_save, rule_save
from sandbox.ghl.testing import StandIn
from tenants.models import Location
from tests.integrations.conftest import DUBAI
from tests.integrations.routing.test_lead_to_ghl import deliver, ghl_contact

pytestmark = pytest.mark.django_db

# Between them the two agents cover every area the stand-in's demo leads ask for.
AREAS = {
    "north": ["Dubai Marina", "Business Bay", "Al Majaz"],
    "south": ["Downtown Dubai", "Al Reem Island"],
}


def area_field_id(ghl: StandIn) -> str:
    token = ghl.mint_token(location_id=DUBAI)["access_token"]
    path = f"/locations/{DUBAI}/customFields"
    answer = httpx.get(ghl.base_url + path, headers=ghl.api_headers(token, path), timeout=30)
    return next(f["id"] for f in answer.json()["customFields"] if f["name"] == "Preferred Area")


def demo_leads(ghl: StandIn, wanted: int) -> list[dict[str, Any]]:
    """Run demo traffic rounds until it has made `wanted` leads; their ContactCreate deliveries."""
    for _ in range(20):
        leads = ghl.webhooks(type="ContactCreate")
        if len(leads) >= wanted:
            return leads[:wanted]
        ghl.traffic_rounds(1)
    raise AssertionError("the demo traffic made no leads")


def test_a_demo_lead_is_mirrored_and_routed_to_its_area_specialist(
    dubai: Location, ghl: StandIn, django_capture_on_commit_callbacks: Any
) -> None:
    agents = sorted(MirrorUser.objects.for_location(dubai).values_list("ghl_id", flat=True))[:2]
    covers = dict(zip(agents, AREAS.values(), strict=True))
    for agent, areas in covers.items():
        agent_profile_save(location=dubai, ghl_user_id=agent, attributes={"area": areas})
    area = area_field_id(ghl)
    rule_save(
        location=dubai,
        name="By area",
        pool={"match": {"attribute": "area", "field": f"custom:{area}"}},
    )

    for delivery in demo_leads(ghl, 3):
        assert delivery["headers"]["x-ghl-signature"] and delivery["headers"]["x-wh-signature"]
        deliver(delivery, django_capture_on_commit_callbacks)  # our endpoint verifies both
        contact_id = json.loads(delivery["body"])["id"]
        mirrored = MirrorContact.objects.for_location(dubai).get(ghl_id=contact_id)
        assert "demo traffic" in mirrored.tags
        lead_area = mirrored.custom_fields[area]
        decision = RoutingDecision.objects.for_location(dubai).get(contact_ghl_id=contact_id)
        (specialist,) = [a for a, areas in covers.items() if lead_area in areas]
        assert decision.status == "assigned" and decision.agent_ghl_id == specialist
        assert ghl_contact(ghl, contact_id)["assignedTo"] == specialist
