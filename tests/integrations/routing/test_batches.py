"""Leads of a location routed together (`leads_route`): the same decisions as one at a time —
round robin in turn, caps never passed within the batch, sticky within the batch — with one
transaction and a bounded number of queries whatever the batch size."""

from collections import Counter
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.routing.engine import leads_route
from integrations.routing.models import AgentDayCount, RoutingDecision, RoutingRuleState
from integrations.routing.services import rule_save
from tenants.models import Location
from tests.conftest import World

from .util import agent, agents, contacts, route_all

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


@pytest.fixture
def location(world: World) -> Location:
    return world.a.locations[0]


def test_a_batch_takes_turns_like_leads_routed_one_by_one(location: Location) -> None:
    team = agents(location, 3)
    rule_save(location=location, name="Everyone", pool={"agents": team})
    leads = contacts(location, 7)
    decisions = leads_route(location=location, contact_ghl_ids=leads[:5], now=NOW)
    assert [decisions[c].agent_ghl_id for c in leads[:5]] == [*team, *team[:2]]
    # The pointer was stored: the next lead (alone) continues the turn.
    assert [d.agent_ghl_id for d in route_all(location, leads[5:], now=NOW)] == [team[2], team[0]]


def test_caps_hold_inside_a_batch_and_the_day_counts_add_up(location: Location) -> None:
    team = agents(location, 3, max_per_day=2)
    rule_save(location=location, name="Capped", pool={"agents": team})
    leads = contacts(location, 10)
    decisions = leads_route(location=location, contact_ghl_ids=leads, now=NOW)
    given = Counter(d.agent_ghl_id for d in decisions.values() if d.agent_ghl_id)
    assert given == dict.fromkeys(team, 2)
    statuses = Counter(d.status for d in decisions.values())
    assert statuses == {"assigned": 6, "unroutable": 4}
    counts = AgentDayCount.objects.for_location(location).values_list("agent_ghl_id", "count")
    assert dict(counts) == dict.fromkeys(team, 2)
    last = decisions[leads[-1]]
    assert {c["reason"] for c in last.candidates} == {"daily_cap"}


def test_open_lead_caps_count_the_leads_given_earlier_in_the_batch(location: Location) -> None:
    team = agents(location, 2, max_open=1)
    rule_save(location=location, name="Open cap", pool={"agents": team}, strategy="least_loaded")
    leads = contacts(location, 3)
    decisions = leads_route(location=location, contact_ghl_ids=leads, now=NOW)
    assert sorted(decisions[c].agent_ghl_id for c in leads[:2]) == team
    assert decisions[leads[2]].status == "unroutable"
    assert {c["reason"] for c in decisions[leads[2]].candidates} == {"open_cap"}


def test_sticky_inside_a_batch_follows_the_same_e_mail(location: Location) -> None:
    team = agents(location, 3)
    rule_save(location=location, name="Sticky", pool={"agents": team}, strategy="sticky")
    emails = ["a@x.test", "b@x.test", "A@X.test", "b@x.test"]
    leads = contacts(location, 4, lambda i: {"email": emails[i]})
    decisions = leads_route(location=location, contact_ghl_ids=leads, now=NOW)
    agents_given = [decisions[c].agent_ghl_id for c in leads]
    assert agents_given[0] != agents_given[1]
    assert agents_given[2] == agents_given[0] and agents_given[3] == agents_given[1]


def test_a_batch_is_idempotent_and_skips_contacts_not_mirrored(location: Location) -> None:
    team = agents(location, 2)
    rule_save(location=location, name="Everyone", pool={"agents": team})
    leads = contacts(location, 3)
    first = leads_route(location=location, contact_ghl_ids=[*leads, "not-mirrored"], now=NOW)
    assert set(first) == set(leads)
    again = leads_route(location=location, contact_ghl_ids=leads, now=NOW)
    assert {c: d.pk for c, d in again.items()} == {c: d.pk for c, d in first.items()}
    assert RoutingDecision.objects.for_location(location).count() == 3


def test_a_batch_costs_the_same_queries_whatever_its_size(location: Location) -> None:
    team = agents(location, 4, max_per_day=100, max_open=100)
    rule_save(location=location, name="Capped", pool={"agents": team})
    leads = contacts(location, 60)

    def queries(batch: list[str]) -> int:
        with CaptureQueriesContext(connection) as captured:
            leads_route(location=location, contact_ghl_ids=batch, now=NOW)
        return len(captured.captured_queries)

    assert queries(leads[:50]) == queries(leads[50:51]) <= 16


def test_a_batch_saves_its_rule_pointers_in_one_fixed_statement(location: Location) -> None:
    heavy, light, other = agents(location, 3)
    agent(location, heavy, weight=2)
    rule_save(location=location, name="Weighted", pool={"agents": [heavy, light, other]},
              strategy="weighted")  # fmt: skip
    leads = contacts(location, 4)
    with CaptureQueriesContext(connection) as captured:
        first = leads_route(location=location, contact_ghl_ids=leads[:2], now=NOW)
    table = RoutingRuleState._meta.db_table
    updates = [q["sql"] for q in captured.captured_queries if table in q["sql"].split("SET")[0]]
    updates = [sql for sql in updates if sql.lstrip().startswith("UPDATE")]
    # From arrays: no CASE per row and field for the ORM to compose on every batch.
    assert len(updates) == 1 and "CASE" not in updates[0]
    # The next batch goes on from the stored weights: 2:1:1 over four leads, exactly.
    second = leads_route(location=location, contact_ghl_ids=leads[2:], now=NOW)
    given = Counter(d.agent_ghl_id for d in [*first.values(), *second.values()])
    assert given == {heavy: 2, light: 1, other: 1}
