"""`demo_live`: the demo world made ready for live traffic — pack, agents, an area rule and an
outbound endpoint — once, and then a lead of the stand-in's demo traffic is routed to an area
specialist and sent on to the demo's receiver."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command

from integrations.demo_live import SINK_DESCRIPTION, demo_live_prepare, demo_locations_waiting
from integrations.mirror.models import MirrorUser
from integrations.packs.catalog import pack_get
from integrations.packs.models import PackActivation
from integrations.routing.models import AgentProfile, RoutingDecision, RoutingRule
from integrations.webhooks_out.models import WebhookEndpoint
from sandbox.ghl.testing import StandIn, WebhookReceiver
from tenants.models import Location
from tests.integrations.conftest import DUBAI, Installer
from tests.integrations.routing.test_lead_to_ghl import deliver, ghl_contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def sink(settings: Any) -> Iterator[WebhookReceiver]:
    """The demo's outbound receiver on loopback, the one private target the guard lets through."""
    with WebhookReceiver() as hook:
        port = hook.url.split(":")[2].split("/")[0]
        settings.CONNECTOR_ALLOWED_PRIVATE_TARGETS = [f"127.0.0.1/32:{port}"]
        settings.WEBHOOKS_OUT_ALLOW_HTTP = True
        yield hook


@pytest.fixture
def demo_dubai(db: None, install: Installer) -> Location:
    """The demo world (seed_demo) with only its Dubai location connected to the stand-in."""
    call_command("seed_demo", stdout=io.StringIO())
    location = install(location_id=DUBAI).location
    assert location is not None and location.agency.slug == "apex"
    return location


def test_it_prepares_connected_locations_once(demo_dubai: Location, sink: WebhookReceiver) -> None:
    assert [loc.ghl_location_id for loc in demo_locations_waiting()] == [
        "DemoLocApexClinic001",
        "DemoLocBoltPlumb0001",
        "DemoLocBoltGeneric01",
    ]
    lines = demo_live_prepare(sink_url=sink.url)

    assert lines[0].startswith("Dubai Homes Realty: pack real_estate, leads routed by area")
    assert all("not connected" in line for line in lines[1:4])
    activation = PackActivation.objects.for_location(demo_dubai).get()
    (rule,) = RoutingRule.objects.for_location(demo_dubai)
    assert rule.pool == {
        "match": {"attribute": "area", "field": f"custom:{activation.fields['area']}"}
    }
    agents = set(MirrorUser.objects.for_location(demo_dubai).values_list("ghl_id", flat=True))
    assert rule.fallback_pool == {"agents": sorted(agents)} and rule.pipeline_id
    profiles = AgentProfile.objects.for_location(demo_dubai)
    assert {p.ghl_user_id for p in profiles} == agents
    assert all(p.attributes["area"] for p in profiles)
    covered = {area for p in profiles for area in p.attributes["area"]}
    assert covered == set(pack_get(key="real_estate").field("area").options)
    endpoints = WebhookEndpoint.objects.unscoped().filter(url=sink.url, location=None)
    assert sorted(e.agency.slug for e in endpoints) == ["apex", "bolt"]
    assert {e.description for e in endpoints} == {SINK_DESCRIPTION}

    again = demo_live_prepare(sink_url=sink.url)
    assert "left as they are" in again[0] and all("already" in line for line in again[4:])
    assert RoutingRule.objects.for_location(demo_dubai).count() == 1
    assert WebhookEndpoint.objects.unscoped().filter(url=sink.url).count() == 2


def test_a_demo_lead_is_routed_and_sent_to_the_receiver(
    demo_dubai: Location,
    sink: WebhookReceiver,
    ghl: StandIn,
    django_capture_on_commit_callbacks: Any,
) -> None:
    demo_live_prepare(sink_url=sink.url)
    for _ in range(20):
        if leads := ghl.webhooks(type="ContactCreate"):
            break
        ghl.traffic_rounds(1)
    delivery = leads[0]
    deliver(delivery, django_capture_on_commit_callbacks)

    contact_id = json.loads(delivery["body"])["id"]
    decision = RoutingDecision.objects.for_location(demo_dubai).get(contact_ghl_id=contact_id)
    assert decision.status == "assigned" and decision.ghl_opportunity_id
    assert ghl_contact(ghl, contact_id)["assignedTo"] == decision.agent_ghl_id
    sent = sink.wait_for(2, where=lambda r: contact_id.encode() in r["body"])
    types = {json.loads(r["body"])["type"] for r in sent}
    assert {"contact.created", "lead.routed"} <= types
    assert all(r["headers"]["webhook-signature"].startswith("v1,") for r in sent)


def test_the_command_says_what_it_did_and_what_is_not_ready(
    demo_dubai: Location, sink: WebhookReceiver
) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("demo_live", "--sink", sink.url, stdout=out, stderr=err)
    assert out.getvalue().splitlines()[0].startswith("Dubai Homes Realty: pack real_estate")
    assert "outbound webhooks now go to" in out.getvalue()
    assert err.getvalue().splitlines() == [
        f"{name}: not connected or not mirrored yet"
        for name in ("Harbor Health Clinic", "Rapid Rooter Plumbing", "Greenleaf Coaching")
    ]
