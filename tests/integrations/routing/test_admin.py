"""The routing admin screens on both sites: rules and profiles saved through the routing services
(bad ones refused with their message), decisions read-only with their reasons, the unroutable
queue, "route again" with its GHL write, a contact's decisions, and the simulator's page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from integrations.mirror.models import MirrorContact, MirrorUser
from integrations.routing.engine import route_lead
from integrations.routing.models import AgentProfile, RoutingDecision, RoutingRule, RoutingRuleState
from integrations.routing.services import agent_profile_delete, rule_save
from saas_platform.kernel.errors import ApplicationError
from sandbox.ghl.testing import StandIn
from tenants.models import AuditLogEntry, Location
from tests.conftest import AgencyClient, World

from .test_lead_to_ghl import ghl_contact
from .util import agent, agents, contacts

pytestmark = pytest.mark.django_db
RULES = "/admin/integrations/routingrule/"
PROFILES = "/admin/integrations/agentprofile/"
DECISIONS = "/admin/integrations/routingdecision/"
SIMULATE = RULES + "simulate/"


def rule_form(where: Location, **values: Any) -> dict[str, Any]:
    return {
        "location": where.pk,
        "name": "Portal leads",
        "position": "",
        "enabled": "on",
        "strategy": "round_robin",
        "conditions": "",
        "pool": '{"agents": ["agent00", "agent01"]}',
        "fallback_pool": "",
        "pipeline_id": "",
        "stage_id": "",
    } | values


def test_a_bad_rule_is_refused_with_the_services_message(
    world: World, agency_client: AgencyClient
) -> None:
    location = world.a.locations[0]
    agents(location, 2)
    client = agency_client(world.a, world.a.owner)
    cases = [
        ({"pool": '{"agents": ["ghost"]}'}, "Pool: unknown agent(s) ghost."),
        (
            {"conditions": '{"field": "colour", "op": "equals", "value": "red"}'},
            "conditions: unknown field &#x27;colour&#x27;",
        ),
        ({"pool": "{not json"}, "Not valid JSON"),
        ({"strategy": "lottery"}, "Select a valid choice"),
        ({"location": world.b.locations[0].pk}, "Select a valid choice"),  # not theirs
    ]
    for values, message in cases:
        response = client.post(RULES + "add/", rule_form(location, **values))
        assert response.status_code == 200, values
        assert message in response.content.decode(), values
    assert not RoutingRule.objects.for_location(location).exists()
    assert not RoutingRule.objects.for_location(world.b.locations[0]).exists()


def test_a_rule_is_saved_through_rule_save_and_listed_in_order(
    world: World, agency_client: AgencyClient
) -> None:
    location = world.a.locations[0]
    agents(location, 2)
    rule_save(location=location, name="Existing", pool={"agents": ["agent00"]})
    client = agency_client(world.a, world.a.admin)
    response = client.post(RULES + "add/", rule_form(location))
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = RoutingRule.objects.for_location(location).get(name="Portal leads")
    assert rule.position == 2 and rule.pool == {"agents": ["agent00", "agent01"]}
    assert RoutingRuleState.objects.for_location(location).filter(rule=rule).exists()
    assert (
        AuditLogEntry.objects.for_agency(world.a.agency)
        .filter(action="routing_rule.created", actor=world.a.admin)
        .exists()
    )
    listing = client.get(RULES).content.decode()
    assert "Simulate routing" in listing
    listing = listing[listing.index('id="result_list"') :]
    assert listing.index("Existing") < listing.index("Portal leads")
    # Editing moves it first; a bad edit is refused and changes nothing.
    change = f"{RULES}{rule.pk}/change/"
    assert client.post(change, rule_form(location, position=0)).status_code == 302
    refused = client.post(change, rule_form(location, position=0, pool='{"agents": []}'))
    assert "Pool is empty" in refused.content.decode()
    rule.refresh_from_db()
    assert rule.position == 0 and rule.pool == {"agents": ["agent00", "agent01"]}


def test_staff_of_the_agency_may_look_but_not_change(
    world: World, agency_client: AgencyClient
) -> None:
    location = world.a.locations[0]
    agents(location, 2)
    client = agency_client(world.a, world.a.staff)
    assert client.get(RULES).status_code == 200
    assert client.post(RULES + "add/", rule_form(location)).status_code == 403
    other = agency_client(world.b, world.b.owner)
    rule = rule_save(location=location, name="A's", pool={"agents": ["agent00"]})
    assert other.get(f"{RULES}{rule.pk}/change/").status_code == 404


def test_agent_profiles_go_through_agent_profile_save(
    world: World, agency_client: AgencyClient
) -> None:
    location = world.a.locations[0]
    MirrorUser.objects.for_location(location).create(location=location, ghl_id="u1")
    client = agency_client(world.a, world.a.owner)
    form = {"location": location.pk, "ghl_user_id": "u1", "active": "on", "weight": 2,
            "max_per_day": "", "max_open": "", "attributes": '{"area": ["JLT"]}',
            "hours": '{"mon": [["17:00", "09:00"]]}', "hours_timezone": "",
            "out_of_office_from_0": "", "out_of_office_from_1": "",
            "out_of_office_until_0": "", "out_of_office_until_1": ""}  # fmt: skip
    refused = client.post(PROFILES + "add/", form).content.decode()
    assert "ends before it starts" in refused
    unknown = client.post(PROFILES + "add/", form | {"ghl_user_id": "nobody"}).content.decode()
    assert "Unknown agent &#x27;nobody&#x27;" in unknown
    assert not AgentProfile.objects.for_location(location).exists()
    saved = client.post(PROFILES + "add/", form | {"hours": '{"mon": [["09:00", "17:00"]]}'})
    assert saved.status_code == 302
    profile = AgentProfile.objects.for_location(location).get()
    assert (profile.weight, profile.attributes) == (2, {"area": ["JLT"]})
    assert (
        AuditLogEntry.objects.for_agency(world.a.agency)
        .filter(action="routing_agent.created")
        .exists()
    )


@pytest.fixture
def routed(world: World) -> tuple[Location, list[RoutingDecision]]:
    """Three leads of agency A's first location: assigned, fallback, unroutable (caps of 1)."""
    location = world.a.locations[0]
    agent(location, "main1", max_per_day=1)
    agent(location, "spare", max_per_day=1)
    rule_save(location=location, name="Bayut", pool={"agents": ["main1"]},
              fallback_pool={"agents": ["spare"]})  # fmt: skip
    leads = contacts(location, 3)
    return location, [route_lead(location=location, contact_ghl_id=c) for c in leads]


def test_decisions_read_only_with_reasons_filters_and_search(
    world: World, agency_client: AgencyClient, routed: tuple[Location, list[RoutingDecision]]
) -> None:
    _, (first, second, third) = routed
    client = agency_client(world.a, world.a.staff)
    queue = client.get(DECISIONS, {"queue": "waiting"}).content.decode()
    assert third.contact_ghl_id in queue and first.contact_ghl_id not in queue
    by_agent = client.get(DECISIONS, {"agent": "spare"}).content.decode()
    assert second.contact_ghl_id in by_agent and first.contact_ghl_id not in by_agent
    found = client.get(DECISIONS, {"q": first.contact_ghl_id}).content.decode()
    assert first.contact_ghl_id in found and third.contact_ghl_id not in found
    page = client.get(f"{DECISIONS}{third.pk}/change/").content.decode()
    assert "skipped: daily cap reached" in page and "1/1 today" in page
    assert '"reason"' not in page  # rendered, not raw JSON
    assert "✔ chosen" in client.get(f"{DECISIONS}{second.pk}/change/").content.decode()
    assert client.post(f"{DECISIONS}{third.pk}/change/", {}).status_code == 403
    theirs = agency_client(world.b, world.b.owner)
    assert theirs.get(f"{DECISIONS}{third.pk}/change/").status_code == 404
    assert third.contact_ghl_id not in theirs.get(DECISIONS).content.decode()


def test_route_again_makes_a_new_decision_and_queues_the_ghl_write(
    world: World,
    agency_client: AgencyClient,
    routed: tuple[Location, list[RoutingDecision]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    location, (_, _, third) = routed
    action = {"action": "route_again", "_selected_action": [third.pk]}
    looker = agency_client(world.a, world.a.staff)
    looker.post(DECISIONS, action)
    assert RoutingDecision.objects.for_location(location).count() == 3  # staff may only look
    client = agency_client(world.a, world.a.owner)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = client.post(DECISIONS, action, follow=True)
    assert f"Routed again: {third.contact_ghl_id} → unroutable" in response.content.decode()
    assert queued == []  # nobody to write to GHL
    history = RoutingDecision.objects.for_location(location).filter(
        contact_ghl_id=third.contact_ghl_id
    )
    assert sorted(history.values_list("is_current", flat=True)) == [False, True]
    assert (
        AuditLogEntry.objects.for_agency(world.a.agency)
        .filter(action="routing_decision.rerouted")
        .count()
        == 1
    )


def test_route_again_writes_the_new_agent_to_ghl(
    dubai: Location,
    ghl: StandIn,
    platform_client: Any,
    world: World,
    django_capture_on_commit_callbacks: Any,
) -> None:
    team = sorted(MirrorUser.objects.for_location(dubai).values_list("ghl_id", flat=True))[:2]
    for ghl_id in team:
        agent(dubai, ghl_id)
    rule_save(location=dubai, name="Everyone", pool={"agents": team})
    lead = MirrorContact.objects.for_location(dubai).order_by("ghl_id").first()
    assert lead is not None
    first = route_lead(location=dubai, contact_ghl_id=lead.ghl_id)
    assert first.agent_ghl_id == team[0]
    client = platform_client(world.operator)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        client.post(DECISIONS, {"action": "route_again", "_selected_action": [first.pk]})
    assert len(queued) == 1
    new = RoutingDecision.objects.for_location(dubai).get(
        contact_ghl_id=lead.ghl_id, is_current=True
    )
    assert new.agent_ghl_id == team[1] and new.ghl_written_at is not None
    assert ghl_contact(ghl, lead.ghl_id)["assignedTo"] == team[1]


def test_a_contacts_page_shows_its_decisions(
    world: World, agency_client: AgencyClient, routed: tuple[Location, list[RoutingDecision]]
) -> None:
    location, (first, *_) = routed
    contact = MirrorContact.objects.for_location(location).get(ghl_id=first.contact_ghl_id)
    page = agency_client(world.a, world.a.owner).get(
        f"/admin/integrations/mirrorcontact/{contact.pk}/change/"
    )
    text = page.content.decode()
    assert "Routing decisions" in text and "Rule &#x27;Bayut&#x27; → main1" in text
    assert f"{DECISIONS}{first.pk}/change/" in text


def test_the_simulator_page(world: World, agency_client: AgencyClient) -> None:
    location = world.a.locations[0]
    team = agents(location, 2)
    rule_save(location=location, name="All", pool={"agents": team})
    start = timezone.now() - timedelta(days=2)
    contacts(location, 3, lambda i: {"date_added": start + timedelta(hours=i)})
    client = agency_client(world.a, world.a.staff)  # looking is enough
    assert client.get(SIMULATE).status_code == 200
    page = client.get(SIMULATE, {"location": location.pk, "days": 7}).content.decode()
    assert "3 leads" in page
    MirrorUser.objects.for_location(location).filter(ghl_id="agent01").update(first_name="Mona")
    page = client.get(SIMULATE, {"location": location.pk, "days": 7}).content.decode()
    assert "<td>agent00</td>" in page and "<td>agent01 (Mona)</td>" in page
    assert "66.7%" in page and "33.3%" in page
    assert "0.900" in page  # Jain over 2 and 1: 9 / (2 * 5)
    refused = client.get(SIMULATE, {"location": location.pk, "days": 0}).content.decode()
    assert "greater than or equal to 1" in refused and "leads from" not in refused
    foreign = client.get(SIMULATE, {"location": world.b.locations[0].pk, "days": 7})
    assert foreign.status_code == 404
    assert agency_client(world.a, world.a.client_admin).get(SIMULATE).status_code == 302


def test_operators_simulate_any_location(world: World, platform_client: Any) -> None:
    location = world.b.locations[0]
    team = agents(location, 2)
    rule_save(location=location, name="All", pool={"agents": team})
    contacts(location, 2, lambda i: {"date_added": timezone.now() - timedelta(hours=i + 1)})
    client = platform_client(world.operator)
    page = client.get(SIMULATE, {"location": location.pk, "days": 1}).content.decode()
    assert "2 leads" in page and "50.0%" in page and "1.000" in page


def test_deleting_a_rule_is_audited_and_an_agent_a_rule_names_is_protected(
    world: World, agency_client: AgencyClient
) -> None:
    location = world.a.locations[0]
    agents(location, 2)
    rule = rule_save(location=location, name="Marina leads", pool={"agents": ["agent00"]})
    client = agency_client(world.a, world.a.owner)
    named = AgentProfile.objects.for_location(location).get(ghl_user_id="agent00")
    free = AgentProfile.objects.for_location(location).get(ghl_user_id="agent01")

    refused = client.post(f"{PROFILES}{named.pk}/delete/", {"post": "yes"})
    assert "Marina leads" in refused.content.decode()
    assert AgentProfile.objects.for_location(location).filter(pk=named.pk).exists()
    assert client.post(f"{PROFILES}{free.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not AgentProfile.objects.for_location(location).filter(pk=free.pk).exists()

    assert client.post(f"{RULES}{rule.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not RoutingRule.objects.for_location(location).exists()
    audited = AuditLogEntry.objects.for_agency(world.a.agency).filter(actor=world.a.owner)
    assert set(audited.values_list("action", flat=True)) >= {
        "routing_rule.deleted",
        "routing_agent.deleted",
    }
    # With the rule gone, the agent may go too.
    assert client.post(f"{PROFILES}{named.pk}/delete/", {"post": "yes"}).status_code == 302


def test_the_service_refuses_to_delete_an_agent_a_rule_names(world: World) -> None:
    location = world.a.locations[0]
    agents(location, 1)
    rule_save(location=location, name="Only", pool={"agents": ["agent00"]})
    profile = AgentProfile.objects.for_location(location).get(ghl_user_id="agent00")
    with pytest.raises(ApplicationError, match="in the pool of 'Only'"):
        agent_profile_delete(profile=profile)
    assert AgentProfile.objects.for_location(location).filter(pk=profile.pk).exists()
