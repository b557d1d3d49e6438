"""The routing simulator over small fixed data sets whose figures are worked out by hand (the
location is in Dubai, UTC+4): strategies, a daily cap, hours judged at each lead's arrival,
fallback and unroutable leads, sticky memory, open-lead caps with closures, the "actual"
column, fairness figures, bad input and — nothing written, nothing sent to GHL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.mirror.models import MirrorContact
from integrations.routing.engine import route_lead
from integrations.routing.figures import jain_index
from integrations.routing.models import RoutingDecision, RoutingRule
from integrations.routing.services import rule_save
from integrations.routing.simulator import routing_simulate
from saas_platform.kernel.errors import ApplicationError
from tenants.models import Location
from tests import factories
from tests.conftest import World

from .util import agent, agents, contacts

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 7, 20, 0, tzinfo=UTC)  # midnight in Dubai, Saturday into Sunday
MON = datetime(2026, 3, 2, tzinfo=UTC)  # Monday 04:00 in Dubai


@pytest.fixture
def location(world: World) -> Location:
    location = world.a.locations[0]
    location.timezone = "Asia/Dubai"
    location.save()
    return location


def arriving(
    location: Location, times: list[datetime], prefix: str = "lead", **fields: Any
) -> list[str]:
    """Leads added at these instants, returned in arrival order; their ids (and rows) run the
    other way, so only `date_added` can put them in order."""
    count = len(times)
    made = contacts(
        location, count, lambda i: {"date_added": times[count - 1 - i], **fields}, prefix=prefix
    )
    return made[::-1]


def hourly(start: datetime, count: int) -> list[datetime]:
    return [start + timedelta(hours=h) for h in range(count)]


def test_jain_index() -> None:
    assert jain_index([5, 5, 5, 5]) == 1
    assert jain_index([8, 0, 0, 0]) == 0.25  # one agent got everything: 1/n
    assert jain_index([3, 2, 2]) == pytest.approx(49 / 51)
    assert jain_index([2, 6]) == pytest.approx(0.8)
    assert jain_index([]) is None and jain_index([0, 0]) is None


def test_round_robin_in_arrival_order_with_fairness(location: Location) -> None:
    team = agents(location, 3)
    rule_save(location=location, name="All", pool={"agents": team})
    arriving(location, hourly(MON, 7))
    arriving(location, [NOW - timedelta(days=8)], prefix="old")  # before the window
    result = routing_simulate(location=location, days=7, now=NOW)
    assert result.leads == 7 and result.pool == team
    assert dict(result.simulated.per_agent) == {team[0]: 3, team[1]: 2, team[2]: 2}
    fairness = result.simulated_fairness
    assert (fairness.max_share, fairness.min_share) == (3 / 7, 2 / 7)
    assert fairness.max_min_ratio == pytest.approx(1.5)
    assert fairness.jain == pytest.approx(49 / 51)
    assert result.simulated.unroutable == result.simulated.fallback == 0
    assert result.actual.unassigned == 7  # never routed, nobody assigned in GHL
    assert result.actual_fairness.jain is None


def test_weighted_shares_follow_the_weights(location: Location) -> None:
    agent(location, "w1", weight=1)
    agent(location, "w2", weight=3)
    rule_save(location=location, name="W", pool={"agents": ["w1", "w2"]}, strategy="weighted")
    arriving(location, hourly(MON, 8))
    result = routing_simulate(location=location, days=7, now=NOW)
    assert dict(result.simulated.per_agent) == {"w1": 2, "w2": 6}
    assert result.simulated_fairness.jain == pytest.approx(0.8)


def test_a_daily_cap_in_the_locations_day(location: Location) -> None:
    agent(location, "capped", max_per_day=2)
    agent(location, "free")
    rule_save(location=location, name="All", pool={"agents": ["capped", "free"]})
    # 18:00 to 23:00 in Dubai on Monday, then 00:30 Tuesday in Dubai (still Monday in UTC).
    times = [
        *hourly(datetime(2026, 3, 2, 14, tzinfo=UTC), 6),
        datetime(2026, 3, 2, 20, 30, tzinfo=UTC),
    ]
    arriving(location, times)
    result = routing_simulate(location=location, days=7, now=NOW)
    # capped, free, capped, then capped is full for leads 4 to 6 (free); next local day: capped.
    assert dict(result.simulated.per_agent) == {"capped": 3, "free": 4}
    assert dict(result.simulated.cap_hits) == {"capped": 3}
    [row] = [r for r in result.rows() if r.agent == "capped"]
    assert (row.simulated, row.cap_hits, row.simulated_share) == (3, 3, 3 / 7)


def test_hours_are_judged_at_each_arrival_then_fallback_or_unroutable(location: Location) -> None:
    weekdays = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    agent(location, "day", hours=weekdays)
    away = datetime(2026, 3, 3, 12, tzinfo=UTC)
    agent(location, "night", out_of_office_from=away, out_of_office_until=away + timedelta(days=1))
    rule_save(
        location=location,
        name="Portal leads",
        conditions={"field": "source", "op": "equals", "value": "Bayut"},
        pool={"agents": ["day"]},
        fallback_pool={"agents": ["night"]},
    )
    arriving(
        location,
        [
            datetime(2026, 3, 2, 6, tzinfo=UTC),  # 10:00 Monday in Dubai: open
            datetime(2026, 3, 2, 16, tzinfo=UTC),  # 20:00: closed → fallback
            datetime(2026, 3, 3, 16, tzinfo=UTC),  # 20:00 Tuesday, night away → unroutable
        ],
        source="Bayut",
    )
    arriving(location, [datetime(2026, 3, 4, 6, tzinfo=UTC)], source="Walk-in", prefix="walk")
    result = routing_simulate(location=location, days=7, now=NOW)  # NOW: outside hours
    assert dict(result.simulated.per_agent) == {"day": 1, "night": 1}
    assert (result.simulated.fallback, result.simulated.unroutable) == (1, 2)
    assert result.simulated_fairness.jain == 1.0


def test_sticky_remembers_across_and_before_the_window(location: Location) -> None:
    agents(location, 2, prefix="s")
    rule_save(location=location, name="Sticky", pool={"agents": ["s00", "s01"]}, strategy="sticky")
    before = NOW - timedelta(days=20)
    old = contacts(
        location, 2, lambda i: {"email": f"old{i}@x.test" if i == 0 else "P@x.test",
                                "date_added": before}, prefix="old",
    )  # fmt: skip
    assert [route_lead(location=location, contact_ghl_id=c, now=before).agent_ghl_id
            for c in old] == ["s00", "s01"]  # fmt: skip
    emails = ["p@x.test", "q@x.test", "q@x.test", "r@x.test"]
    contacts(location, 4, lambda i: {"email": emails[i], "date_added": MON + timedelta(hours=i)})
    result = routing_simulate(location=location, days=7, now=NOW)
    # p comes back to s01 (decided before the window); q is new → s00 (fresh pointer), its
    # second contact stays with s00; r → s01.
    assert dict(result.simulated.per_agent) == {"s00": 2, "s01": 2}


def test_an_open_lead_cap_frees_up_when_the_deal_closes(location: Location) -> None:
    agent(location, "a", max_open=1)
    agent(location, "b", max_open=1)
    rule_save(location=location, name="All", pool={"agents": ["a", "b"]})
    leads = arriving(location, hourly(MON, 4))
    factories.MirrorOpportunityFactory(
        location=location,
        contact_ghl_id=leads[0],
        status="won",
        last_status_change_at=MON + timedelta(hours=1, minutes=30),
    )
    result = routing_simulate(location=location, days=7, now=NOW)
    # a; b (a full); a (its deal closed, b full); nobody (both full).
    assert dict(result.simulated.per_agent) == {"a": 2, "b": 1}
    assert dict(result.simulated.cap_hits) == {"a": 2, "b": 2}
    assert result.simulated.unroutable == 1


def test_the_actual_column_reads_current_decisions_then_the_assigned_user(
    location: Location,
) -> None:
    team = agents(location, 2)
    rule = rule_save(location=location, name="First", pool={"agents": [team[0]]})
    routed = arriving(location, hourly(MON, 3))
    for lead, at in zip(routed, hourly(MON, 3), strict=True):
        route_lead(location=location, contact_ghl_id=lead, now=at)
    # Re-routed: only the current decision counts.
    rule_save(location=location, name="First", pool={"agents": [team[1]]}, rule=rule)
    later = MON + timedelta(hours=5)
    route_lead(location=location, contact_ghl_id=routed[2], now=later, reroute=True)
    arriving(location, [MON + timedelta(days=1)], assigned_to=team[1], prefix="byhand")
    arriving(location, [MON + timedelta(days=2)], prefix="nobody")
    candidate = RoutingRule(location=location, name="Both", pool={"agents": team})
    result = routing_simulate(location=location, days=7, rules=[candidate], now=NOW)
    assert result.leads == 5
    assert dict(result.actual.per_agent) == {team[0]: 2, team[1]: 2}
    assert result.actual.unassigned == 1
    assert dict(result.simulated.per_agent) == {team[0]: 3, team[1]: 2}
    rows = {r.agent: (r.simulated, r.actual) for r in result.rows()}
    assert rows == {team[0]: (3, 2), team[1]: (2, 2)}
    assert result.actual_fairness.jain == 1.0


def test_actual_unroutable_fallback_and_cap_hits_come_from_the_decisions(
    location: Location,
) -> None:
    agent(location, "main1", max_per_day=1)
    agent(location, "spare", max_per_day=1)
    rule_save(location=location, name="R", pool={"agents": ["main1"]},
              fallback_pool={"agents": ["spare"]})  # fmt: skip
    leads = arriving(location, hourly(MON + timedelta(hours=4), 3))
    for lead, at in zip(leads, hourly(MON + timedelta(hours=4), 3), strict=True):
        route_lead(location=location, contact_ghl_id=lead, now=at)
    result = routing_simulate(location=location, days=7, now=NOW)
    for column in (result.actual, result.simulated):  # same rules, same leads: same outcome
        assert dict(column.per_agent) == {"main1": 1, "spare": 1}
        assert (column.fallback, column.unroutable) == (1, 1)
        assert dict(column.cap_hits) == {"main1": 2, "spare": 1}


def test_nothing_is_written_and_nothing_sent_to_ghl(dubai: Location, ghl: Any) -> None:
    from integrations.mirror.models import MirrorUser

    ids = sorted(MirrorUser.objects.for_location(dubai).values_list("ghl_id", flat=True))[:3]
    for ghl_id in ids:
        agent(dubai, ghl_id, max_per_day=5)
    rule_save(location=dubai, name="All", pool={"agents": ids})
    dated = MirrorContact.objects.for_location(dubai).exclude(date_added=None)
    latest = max(dated.values_list("date_added", flat=True))
    seen = max(r["seq"] for r in ghl.requests(limit=10_000))
    rows_before = _rows(dubai)
    with CaptureQueriesContext(connection) as queries:
        result = routing_simulate(location=dubai, days=365, now=latest + timedelta(seconds=1))
    assert result.leads > 0 and sum(result.simulated.per_agent.values()) > 0
    writes = [q["sql"] for q in queries if q["sql"].split()[0] in {"INSERT", "UPDATE", "DELETE"}]
    assert writes == []
    assert _rows(dubai) == rows_before
    assert ghl.requests(since=seen) == []


def _rows(location: Location) -> dict[str, Any]:
    from integrations.routing.models import AgentDayCount, RoutingRuleState

    return {
        "decisions": RoutingDecision.objects.for_location(location).count(),
        "days": AgentDayCount.objects.for_location(location).count(),
        "state": list(RoutingRuleState.objects.for_location(location).values()),
        "contacts": list(
            MirrorContact.objects.for_location(location).values_list("ghl_id", "assigned_to")
        ),
    }


@pytest.mark.parametrize("days", [0, -1, 366, True, "7", 2.5])
def test_a_bad_number_of_days_is_refused(location: Location, days: Any) -> None:
    with pytest.raises(ApplicationError, match="1 to 365 days"):
        routing_simulate(location=location, days=days, now=NOW)


def test_a_candidate_rule_failing_validation_is_refused_and_nothing_saved(
    location: Location, world: World
) -> None:
    agents(location, 1)
    bad = [
        (RoutingRule(name="Ghost", pool={"agents": ["nobody"]}), "unknown agent"),
        (
            RoutingRule(name="Typo", pool={"agents": ["agent00"]},
                        conditions={"field": "colour", "op": "equals", "value": "x"}),
            "unknown field 'colour'",
        ),
        (RoutingRule(name="", pool={"agents": ["agent00"]}), "needs a name"),
        (
            RoutingRule(location=world.b.locations[0], name="Theirs", pool={"agents": ["agent00"]}),
            "another location",
        ),
    ]  # fmt: skip
    for rule, message in bad:
        with pytest.raises(ApplicationError, match=message):
            routing_simulate(location=location, days=7, rules=[rule], now=NOW)
    assert not RoutingRule.objects.for_location(location).exists()


def test_10000_leads_replay_in_a_few_seconds(location: Location) -> None:
    team = agents(location, 12, max_per_day=200)
    rule_save(location=location, name="All", pool={"agents": team})
    start = NOW - timedelta(days=30)
    contacts(location, 10_000, lambda i: {"date_added": start + timedelta(minutes=4 * i)})
    result = routing_simulate(location=location, days=30, now=NOW)
    assert result.leads == 10_000
    counts = [result.simulated.per_agent[a] for a in team]
    assert max(counts) - min(counts) <= 1 and result.simulated_fairness.jain > 0.9999
    assert result.elapsed_ms < 8_000, result.elapsed_ms
