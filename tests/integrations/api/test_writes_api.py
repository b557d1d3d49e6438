"""The API's writes on a location connected to the CRM stand-in: an opportunity's move and a
booking reach the CRM and then the mirror; routing rules are saved through the routing
services (their refusals named per field); "route this contact" answers the decision and the
CRM holds the agent."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.test import Client
from django.utils import timezone

from integrations.mirror.models import MirrorAppointment, MirrorContact, MirrorUser
from integrations.portal import booking
from integrations.routing.models import RoutingRule
from integrations.routing.services import agent_profile_save
from sandbox.ghl.testing import StandIn
from tenants import selectors
from tenants.models import AuditLogEntry, Location
from tests import factories
from tests.api.conftest import error_of
from tests.integrations.conftest import DUBAI
from tests.integrations.portal.test_pipeline_board import _ghl_opportunity, _movable

pytestmark = pytest.mark.django_db


class Api:
    def __init__(self, location: Location, *scopes: str) -> None:
        key = factories.ApiKeyFactory(
            agency=location.agency, location=location, scopes=list(scopes)
        )
        self.base = f"/api/v1/locations/{location.pk}/"
        self.client = Client(
            HTTP_HOST=selectors.agency_primary_domain(location.agency),
            HTTP_AUTHORIZATION=f"Bearer {key.raw_key}",
        )

    def post(self, path: str, body: Any) -> Any:
        return self.client.post(self.base + path, json.dumps(body), content_type="application/json")

    def patch(self, path: str, body: Any) -> Any:
        return self.client.patch(
            self.base + path, json.dumps(body), content_type="application/json"
        )


def test_moving_an_opportunity_reaches_the_crm_then_the_mirror(
    dubai: Location, ghl: StandIn
) -> None:
    opportunity, target = _movable(dubai)
    api = Api(dubai, "opportunities:write")
    response = api.post(f"opportunities/{opportunity.ghl_id}/move/", {"stage_id": target})
    assert response.status_code == 200, response.content
    assert response.json()["stage_id"] == target
    assert _ghl_opportunity(ghl, opportunity.ghl_id)["pipelineStageId"] == target
    opportunity.refresh_from_db()
    assert opportunity.stage_ghl_id == target
    assert AuditLogEntry.objects.for_agency(dubai.agency).filter(action="opportunity.moved")
    bad = api.post(f"opportunities/{opportunity.ghl_id}/move/", {"stage_id": target, "x": 1})
    assert error_of(bad)["details"] == {"x": ["This field is not accepted here."]}


def test_a_move_the_crm_refuses_changes_nothing(dubai: Location, ghl: StandIn) -> None:
    opportunity, target = _movable(dubai)
    api = Api(dubai, "opportunities:write")
    ghl.set_config(rate_limits={"burst_max": 1, "burst_window_s": 1.0})
    time.sleep(1.1)  # the install's backfill requests leave the window
    _ghl_opportunity(ghl, opportunity.ghl_id)  # someone else used the window's only request
    response = api.post(f"opportunities/{opportunity.ghl_id}/move/", {"stage_id": target})
    assert response.status_code == 422 and error_of(response)["code"] == "refused"
    assert "busy" in error_of(response)["message"]
    before = opportunity.stage_ghl_id
    opportunity.refresh_from_db()
    assert opportunity.stage_ghl_id == before


def test_booking_a_free_slot_reaches_the_crm_and_the_mirror(dubai: Location, ghl: StandIn) -> None:
    calendar = booking.calendars_list(location=dubai)[0]
    contact = MirrorContact.objects.for_location(dubai).order_by("pk").first()
    assert contact is not None
    day = timezone.localdate()
    slots: list[Any] = []
    for offset in range(1, 15):
        slots = booking.free_slots_on(
            location=dubai, calendar_id=calendar.ghl_id, day=day + timedelta(days=offset)
        )
        if slots:
            break
    assert slots
    api = Api(dubai, "appointments:write")
    body = {
        "calendar_id": calendar.ghl_id,
        "contact_id": contact.ghl_id,
        "start_time": slots[0].isoformat(),
    }
    response = api.post("appointments/", body)
    assert response.status_code == 201, response.content
    booked = response.json()
    assert booked["contact_id"] == contact.ghl_id and booked["calendar_id"] == calendar.ghl_id
    assert MirrorAppointment.objects.for_location(dubai).filter(ghl_id=booked["id"]).exists()
    past = {**body, "start_time": (timezone.now() - timedelta(hours=1)).isoformat()}
    refused = api.post("appointments/", past)
    assert refused.status_code == 422 and "passed" in error_of(refused)["message"]
    elsewhere = api.post("appointments/", {**body, "calendar_id": "no-such-calendar"})
    assert elsewhere.status_code == 404


def test_routing_rules_are_saved_through_the_service_with_field_errors(dubai: Location) -> None:
    agents = sorted(MirrorUser.objects.for_location(dubai).values_list("ghl_id", flat=True))[:2]
    for agent in agents:
        agent_profile_save(location=dubai, ghl_user_id=agent)
    api = Api(dubai, "routing:write")
    created = api.post("routing/rules/", {"name": "Everyone", "pool": {"agents": agents}})
    assert created.status_code == 201, created.content
    rule = created.json()
    assert rule["strategy"] == "round_robin" and rule["pool"] == {"agents": agents}
    no_name = api.post("routing/rules/", {"name": " ", "pool": {"agents": agents}})
    assert set(error_of(no_name)["details"]) == {"name"}
    empty = api.post("routing/rules/", {"name": "Empty", "pool": {}})
    assert set(error_of(empty)["details"]) == {"pool"}
    stage = api.post(
        "routing/rules/", {"name": "S", "pool": {"agents": agents}, "pipeline_id": "nope"}
    )
    assert set(error_of(stage)["details"]) == {"pipeline_id"}
    paused = api.patch(f"routing/rules/{rule['id']}/", {"enabled": False})
    assert paused.status_code == 200 and paused.json()["enabled"] is False
    assert paused.json()["name"] == "Everyone"
    deleted = api.client.delete(f"{api.base}routing/rules/{rule['id']}/")
    assert deleted.status_code == 204
    assert not RoutingRule.objects.for_location(dubai).exists()


def test_routing_a_contact_answers_the_decision_and_writes_the_agent(
    dubai: Location, ghl: StandIn
) -> None:
    agents = sorted(MirrorUser.objects.for_location(dubai).values_list("ghl_id", flat=True))[:1]
    for agent in agents:
        agent_profile_save(location=dubai, ghl_user_id=agent)
    api = Api(dubai, "routing:write")
    api.post("routing/rules/", {"name": "Everyone", "pool": {"agents": agents}})
    contact = MirrorContact.objects.for_location(dubai).order_by("pk").first()
    assert contact is not None
    response = api.post("routing/route/", {"contact_id": contact.ghl_id})
    assert response.status_code == 200, response.content
    decision = response.json()
    assert decision["status"] == "assigned" and decision["agent_id"] == agents[0]
    assert decision["assignment_written_at"] is not None
    token = ghl.mint_token(location_id=DUBAI)["access_token"]
    path = f"/contacts/{contact.ghl_id}"
    remote = httpx.get(ghl.base_url + path, headers=ghl.api_headers(token, path), timeout=30)
    assert remote.json()["contact"]["assignedTo"] == agents[0]
    again = api.post("routing/route/", {"contact_id": contact.ghl_id}).json()
    assert again["id"] == decision["id"]  # routed once
    rerouted = api.post("routing/route/", {"contact_id": contact.ghl_id, "reroute": True}).json()
    assert rerouted["id"] != decision["id"] and rerouted["is_current"] is True
    missing = api.post("routing/route/", {"contact_id": "no-such-contact"})
    assert missing.status_code == 404
