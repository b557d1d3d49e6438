"""The workspace's routing pages: rules (order, on/off, delete), the rule and agent forms
(refusals next to the field, nothing saved), the simulator and the decisions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from integrations.routing.models import AgentProfile, RoutingDecision, RoutingRule
from tenants.models import AuditLogEntry, Location
from tests import factories

pytestmark = pytest.mark.django_db


def _agents(location: Location, count: int = 2) -> list[str]:
    ids = []
    for i in range(count):
        user = factories.MirrorUserFactory(location=location, first_name=f"Agent{i}", last_name="X")
        factories.AgentProfileFactory(location=location, ghl_user_id=user.ghl_id)
        ids.append(user.ghl_id)
    return ids


def _rule_post(**overrides: Any) -> dict[str, Any]:
    data = {
        "rows": "3",
        "name": "Zillow leads",
        "enabled": "on",
        "join": "all",
        "strategy": "round_robin",
        "c0_field": "source",
        "c0_op": "equals",
        "c0_value": "Zillow",
        "c1_field": "",
        "c1_op": "equals",
        "c1_value": "",
        "c2_field": "",
        "c2_op": "equals",
        "c2_value": "",
        "stage": "",
    }
    data.update(overrides)
    return data


def test_empty_rules_page_explains_what_to_do(admin: Client, location: Location) -> None:
    response = admin.get(f"/app/l/{location.pk}/routing/")
    assert response.status_code == 200
    assert "No routing rules yet" in response.content.decode()


def test_a_rule_is_created_with_its_conditions_pool_and_stage(
    admin: Client, location: Location
) -> None:
    agents = _agents(location)
    pipeline = factories.MirrorPipelineFactory(location=location)
    data = _rule_post(
        pool_agents=agents,
        fallback_agents=[agents[0]],
        c1_field="postal_code",
        c1_op="postal_in",
        c1_value="SW1, EC2",
        c2_field="tags",
        c2_op="in",
        c2_value="buyer, investor",
        strategy="weighted",
        stage=f"{pipeline.ghl_id}|stage-1",
    )
    response = admin.post(f"/app/l/{location.pk}/routing/rules/new/", data)
    assert response.status_code == 302, response.content.decode()
    rule = RoutingRule.objects.for_location(location).get()
    assert rule.conditions == {
        "all": [
            {"field": "source", "op": "equals", "value": "Zillow"},
            {"field": "postal_code", "op": "postal_in", "value": ["SW1", "EC2"]},
            {"field": "tags", "op": "in", "value": ["buyer", "investor"]},
        ]
    }
    assert rule.pool == {"agents": agents} and rule.fallback_pool == {"agents": [agents[0]]}
    assert (rule.strategy, rule.pipeline_id, rule.stage_id) == (
        "weighted",
        pipeline.ghl_id,
        "stage-1",
    )
    assert (
        AuditLogEntry.objects.for_agency(location.agency)
        .filter(action="routing_rule.created", location=location)
        .exists()
    )
    # The edit form shows it back.
    page = admin.get(f"/app/l/{location.pk}/routing/rules/{rule.pk}/").content.decode()
    assert 'value="SW1, EC2"' in page and "Zillow leads" in page


def test_an_empty_pool_is_refused_next_to_the_agents_and_nothing_is_saved(
    admin: Client, location: Location
) -> None:
    _agents(location)
    response = admin.post(f"/app/l/{location.pk}/routing/rules/new/", _rule_post())
    assert response.status_code == 200
    form = response.context["form"]
    assert "Pool is empty" in " ".join(form.errors["pool_agents"])
    assert 'value="Zillow leads"' in response.content.decode()  # what was typed is kept
    assert not RoutingRule.objects.for_location(location).exists()


def test_a_bad_condition_is_refused_on_its_row(admin: Client, location: Location) -> None:
    agents = _agents(location)
    data = _rule_post(
        pool_agents=agents, c1_field="company_name", c1_op="between", c1_value="900, 100"
    )
    response = admin.post(f"/app/l/{location.pk}/routing/rules/new/", data)
    assert response.status_code == 200
    assert "low above high" in " ".join(response.context["form"].errors["c1_value"])
    assert not RoutingRule.objects.for_location(location).exists()


def test_rules_are_reordered_toggled_and_deleted_after_confirmation(
    admin: Client, location: Location
) -> None:
    first = factories.RoutingRuleFactory(location=location, name="First", position=1)
    second = factories.RoutingRuleFactory(location=location, name="Second", position=2)
    base = f"/app/l/{location.pk}/routing/rules"
    assert admin.post(f"{base}/{second.pk}/move/", {"direction": "up"}).status_code == 302
    order = list(RoutingRule.objects.for_location(location).values_list("name", flat=True))
    assert order == ["Second", "First"]
    assert admin.post(f"{base}/{first.pk}/toggle/").status_code == 302
    first.refresh_from_db()
    assert first.enabled is False
    confirm = admin.get(f"{base}/{first.pk}/delete/")
    assert confirm.status_code == 200 and "Delete the rule" in confirm.content.decode()
    assert RoutingRule.objects.for_location(location).filter(pk=first.pk).exists()
    assert admin.post(f"{base}/{first.pk}/delete/").status_code == 302
    assert not RoutingRule.objects.for_location(location).filter(pk=first.pk).exists()
    actions = set(
        AuditLogEntry.objects.for_agency(location.agency)
        .filter(location=location)
        .values_list("action", flat=True)
    )
    assert {"routing_rule.moved", "routing_rule.disabled", "routing_rule.deleted"} <= actions


def _profile_post(agent: str, **overrides: Any) -> dict[str, Any]:
    data = {
        "agent": agent,
        "active": "on",
        "weight": "2",
        "max_per_day": "10",
        "max_open": "",
        "attributes": "area: Dubai Marina, JLT",
        "hours_mon": "09:00-13:00, 14:00-18:00",
        "hours_timezone": "Asia/Dubai",
    }
    data.update(overrides)
    return data


def test_an_agent_profile_is_saved_with_hours_and_attributes(
    admin: Client, location: Location
) -> None:
    user = factories.MirrorUserFactory(location=location)
    response = admin.post(f"/app/l/{location.pk}/routing/agents/new/", _profile_post(user.ghl_id))
    assert response.status_code == 302, response.content.decode()
    profile = AgentProfile.objects.for_location(location).get()
    assert profile.hours == {"mon": [["09:00", "13:00"], ["14:00", "18:00"]]}
    assert profile.attributes == {"area": ["Dubai Marina", "JLT"]}
    assert (profile.weight, profile.max_per_day, profile.max_open) == (2, 10, None)


def test_an_invalid_time_zone_is_refused_on_its_field(admin: Client, location: Location) -> None:
    user = factories.MirrorUserFactory(location=location)
    data = _profile_post(user.ghl_id, hours_timezone="Mars/Olympus")
    response = admin.post(f"/app/l/{location.pk}/routing/agents/new/", data)
    assert response.status_code == 200
    assert "not a known IANA time zone" in " ".join(
        response.context["form"].errors["hours_timezone"]
    )
    assert 'value="Mars/Olympus"' in response.content.decode()
    assert not AgentProfile.objects.for_location(location).exists()


def test_bad_hours_are_refused_on_their_day(admin: Client, location: Location) -> None:
    user = factories.MirrorUserFactory(location=location)
    data = _profile_post(user.ghl_id, hours_mon="18:00-09:00")
    response = admin.post(f"/app/l/{location.pk}/routing/agents/new/", data)
    assert "ends before it starts" in " ".join(response.context["form"].errors["hours_mon"])
    assert not AgentProfile.objects.for_location(location).exists()


def test_an_agent_a_rule_names_cannot_be_removed(admin: Client, location: Location) -> None:
    (agent,) = _agents(location, 1)
    factories.RoutingRuleFactory(location=location, pool={"agents": [agent]})
    profile = AgentProfile.objects.for_location(location).get()
    response = admin.post(f"/app/l/{location.pk}/routing/agents/{profile.pk}/delete/")
    assert response.status_code == 400 and "is in the pool of" in response.content.decode()
    assert AgentProfile.objects.for_location(location).exists()


def test_the_simulator_shows_distribution_and_fairness(admin: Client, location: Location) -> None:
    agents = _agents(location)
    factories.RoutingRuleFactory(location=location, pool={"agents": agents})
    for _ in range(4):
        factories.MirrorContactFactory(
            location=location, date_added=timezone.now() - timedelta(days=1)
        )
    response = admin.get(f"/app/l/{location.pk}/routing/simulate/", {"days": "7"})
    text = response.content.decode()
    assert response.status_code == 200
    assert "4 leads" in text and "Jain" in text
    simulated = [row["simulated"] for row in response.context["rows"]]
    assert sorted(simulated) == [2, 2]
    refused = admin.get(f"/app/l/{location.pk}/routing/simulate/", {"days": "0"})
    assert refused.context["form"].errors["days"]


def test_decisions_filter_by_outcome_and_explain_candidates(
    admin: Client, location: Location
) -> None:
    factories.RoutingDecisionFactory(
        location=location,
        status=RoutingDecision.Status.UNROUTABLE,
        summary="Everyone was busy",
        candidates=[{"agent": "A1", "pool": "main", "eligible": False, "reason": "daily_cap"}],
    )
    lead = factories.MirrorContactFactory(location=location, first_name="Zed", last_name="Lead")
    (agent,) = _agents(location, 1)
    factories.RoutingDecisionFactory(
        location=location,
        contact_ghl_id=lead.ghl_id,
        status=RoutingDecision.Status.FALLBACK,
        agent_ghl_id=agent,
        summary=f"Rule 'x' → {agent} (fallback).",
    )
    factories.RoutingDecisionFactory(
        location=location,
        status=RoutingDecision.Status.ASSIGNED,
        agent_ghl_id="A2",
        summary="Round robin picked A2",
    )
    page = admin.get(f"/app/l/{location.pk}/routing/decisions/", {"outcome": "unroutable"})
    text = page.content.decode()
    assert "Everyone was busy" in text and "daily cap reached" in text
    assert "Round robin picked A2" not in text
    fallback = admin.get(f"/app/l/{location.pk}/routing/decisions/", {"outcome": "fallback"})
    text = fallback.content.decode()
    assert "Zed Lead" in text and "→ Agent0 X (fallback)" in text and f"→ {agent}" not in text


def test_nested_conditions_set_up_by_the_agency_are_kept_on_an_edit(
    admin: Client, location: Location
) -> None:
    agents = _agents(location)
    nested = {
        "all": [
            {"field": "source", "op": "equals", "value": "Zillow"},
            {"any": [{"field": "city", "op": "equals", "value": "Dubai"}]},
        ]
    }
    rule = factories.RoutingRuleFactory(
        location=location, conditions=nested, pool={"agents": agents}
    )
    url = f"/app/l/{location.pk}/routing/rules/{rule.pk}/"
    assert "nested groups" in admin.get(url).content.decode()
    data = {"rows": "0", "name": "Renamed", "enabled": "on", "strategy": "round_robin"}
    response = admin.post(url, {**data, "pool_agents": agents, "stage": ""})
    assert response.status_code == 302, response.content.decode()
    rule.refresh_from_db()
    assert (rule.name, rule.conditions) == ("Renamed", nested)


def test_more_condition_rows_keep_what_was_typed_and_save_nothing(
    admin: Client, location: Location
) -> None:
    agents = _agents(location)
    data = _rule_post(pool_agents=agents, more_rows="1")
    response = admin.post(f"/app/l/{location.pk}/routing/rules/new/", data)
    assert response.status_code == 200
    assert response.context["rows"] == 6 and not response.context["form"].errors
    text = response.content.decode()
    assert 'name="c5_value"' in text and 'value="Zillow"' in text
    assert not RoutingRule.objects.for_location(location).exists()


def test_out_of_office_round_trips_through_the_date_time_inputs(
    admin: Client, location: Location
) -> None:
    user = factories.MirrorUserFactory(location=location)
    data = _profile_post(
        user.ghl_id, out_of_office_from="2030-01-02T09:00", out_of_office_until="2030-01-09T09:00"
    )
    assert admin.post(f"/app/l/{location.pk}/routing/agents/new/", data).status_code == 302
    profile = AgentProfile.objects.for_location(location).get()
    page = admin.get(f"/app/l/{location.pk}/routing/agents/{profile.pk}/").content.decode()
    assert 'value="2030-01-09T09:00"' in page
    backwards = _profile_post(
        user.ghl_id, out_of_office_from="2030-01-09T09:00", out_of_office_until="2030-01-02T09:00"
    )
    response = admin.post(f"/app/l/{location.pk}/routing/agents/{profile.pk}/", backwards)
    assert "must end after it starts" in " ".join(
        response.context["form"].errors["out_of_office_until"]
    )
    profile.refresh_from_db()
    assert profile.out_of_office_until.year == 2030 and profile.out_of_office_until.day == 9


def test_moving_the_top_rule_up_changes_nothing(admin: Client, location: Location) -> None:
    top = factories.RoutingRuleFactory(location=location, name="Top", position=5)
    factories.RoutingRuleFactory(location=location, name="Next", position=5)  # a tie
    admin.post(f"/app/l/{location.pk}/routing/rules/{top.pk}/move/", {"direction": "up"})
    rules = RoutingRule.objects.for_location(location).order_by("position", "id")
    assert [r.name for r in rules] == ["Top", "Next"]
    bad = admin.post(f"/app/l/{location.pk}/routing/rules/{top.pk}/move/", {"direction": "left"})
    assert bad.status_code == 400
