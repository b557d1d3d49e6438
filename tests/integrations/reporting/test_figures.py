"""Report figures against values worked out by hand from dataset.py (Dubai days, UTC+4)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from integrations.reporting.figures import DayLeads, Filters, SourceLeads, StageValue
from integrations.reporting.models import LeadDay
from integrations.reporting.selectors import dashboard_agency, dashboard_location
from tenants.models import Agency
from tests.conftest import World

from .dataset import FROM, TO, Dataset, build

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(world: World) -> Dataset:
    return build(world)


def test_leads_fall_on_the_locations_local_day(data: Dataset) -> None:
    board = dashboard_location(location=data.a1, date_from=FROM, date_to=TO)
    # c3 (19:59 UTC on the 1st) is the 1st in Dubai; c2 (21:30 UTC on the 1st) is the 2nd.
    assert board.leads_by_day[:4] == (
        DayLeads(date(2026, 3, 1), 1),
        DayLeads(date(2026, 3, 2), 2),
        DayLeads(date(2026, 3, 3), 1),
        DayLeads(date(2026, 3, 4), 0),
    )
    assert len(board.leads_by_day) == 7
    assert board.leads_by_source == (
        SourceLeads("Website", 2),
        SourceLeads("", 1),
        SourceLeads("Facebook", 1),
    )
    assert board.total_leads == 4  # c5 (February) is outside the range


def test_pipeline_win_rate_and_speed_to_lead(data: Dataset) -> None:
    board = dashboard_location(location=data.a1, date_from=FROM, date_to=TO)
    assert board.pipeline_by_stage == (
        StageValue("Sales", "New", 1, Decimal("1000.00")),
        StageValue("Sales", "Qualified", 1, Decimal("2500.50")),
    )
    win = board.win_rate
    assert (win.opened, win.won, win.lost) == (4, 1, 1)
    assert (win.won_value, win.lost_value, win.rate) == (Decimal("4000"), Decimal("700"), 0.5)
    speed = board.speed_to_lead
    assert (speed.leads, speed.assigned, speed.avg_assign_seconds) == (4, 2, 360)
    assert (speed.responded, speed.avg_respond_seconds, speed.responded_5m) == (2, 540, 1)
    assert speed.fast_share == 0.25


def test_appointments_agents_routing_and_pnl(data: Dataset) -> None:
    board = dashboard_location(location=data.a1, date_from=FROM, date_to=TO)
    appts = board.appointments
    # a5 starts 00:30 on the 8th in Dubai: outside; a4 is cancelled: not booked.
    assert (appts.booked, appts.showed, appts.no_show, appts.cancelled) == (3, 1, 1, 1)
    assert appts.show_rate == 0.5
    assert [d.day.day for d in appts.by_day] == [2, 3, 4]
    amal, bilal = board.agents
    assert (amal.name, amal.leads, amal.responded, amal.avg_respond_seconds) == (
        "Amal Haddad",
        2,
        2,
        540,
    )
    assert (amal.won, amal.won_value, amal.appointments, amal.showed) == (1, 4000, 2, 1)
    assert (bilal.name, bilal.leads, bilal.won, bilal.appointments) == ("Bilal Khan", 1, 0, 1)
    routing = {(r.name, r.assigned, r.fallback, r.unroutable) for r in board.routing}
    assert routing == {("Amal Haddad", 1, 0, 0), ("Bilal Khan", 1, 0, 0), ("(no agent)", 0, 0, 1)}
    (pnl,) = board.pnl
    assert (pnl.revenue, pnl.won_value, pnl.open_value) == (None, 4000, Decimal("3500.50"))
    assert not board.revenue_connected


def test_filters_narrow_the_figures(data: Dataset) -> None:
    by_agent = dashboard_location(
        location=data.a1, date_from=FROM, date_to=TO, filters=Filters(agent="u1")
    )
    assert by_agent.total_leads == 2 and by_agent.win_rate.won == 1
    assert by_agent.appointments.booked == 2
    by_source = dashboard_location(
        location=data.a1, date_from=FROM, date_to=TO, filters=Filters(source="Facebook")
    )
    assert by_source.total_leads == 1 and by_source.pipeline_by_stage == ()
    assert [c.label for c in by_source.sources] == ["Facebook", "Website"]
    unknown_pipeline = dashboard_location(
        location=data.a1, date_from=FROM, date_to=TO, filters=Filters(pipeline="nope")
    )
    assert unknown_pipeline.win_rate.won == 0 and unknown_pipeline.total_leads == 4


def test_the_agency_dashboard_sums_its_own_locations_only(world: World, data: Dataset) -> None:
    agency: Agency = world.a.agency
    board = dashboard_agency(agency=agency, date_from=FROM, date_to=TO)
    assert board.total_leads == 5  # 4 in Dubai + 1 in A2, nothing of B
    assert (board.win_rate.won, board.win_rate.won_value) == (2, Decimal("4100"))
    assert [row.location for row in board.pnl] == ["A Location 1", "A Location 2"]
    assert "B Ads" not in {c.label for c in board.sources}
    only_a2 = dashboard_agency(
        agency=agency, date_from=FROM, date_to=TO, filters=Filters(location_id=data.a2.pk)
    )
    assert only_a2.total_leads == 1 and [r.location for r in only_a2.pnl] == ["A Location 2"]
    # Another agency's location in the filter selects nothing rather than leaking.
    foreign = dashboard_agency(
        agency=agency, date_from=FROM, date_to=TO, filters=Filters(location_id=data.b1.pk)
    )
    assert foreign.total_leads == 0 and foreign.pnl == ()


def test_the_rollups_are_tenant_scoped(data: Dataset) -> None:
    from saas_platform.kernel.errors import UnscopedQueryError

    with pytest.raises(UnscopedQueryError):
        list(LeadDay.objects.all())


def test_query_counts_are_pinned(
    world: World, data: Dataset, django_assert_num_queries: Any
) -> None:
    agency = world.a.agency
    # +1 each since billing records revenue: location_revenue reads LocationRevenue.
    with django_assert_num_queries(7):
        dashboard_location(location=data.a1, date_from=FROM, date_to=TO)
    with django_assert_num_queries(8):
        dashboard_agency(
            agency=agency, date_from=FROM, date_to=TO, filters=Filters(agent="u1", source="x")
        )
