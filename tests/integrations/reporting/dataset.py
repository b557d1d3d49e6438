"""A small fixed dataset whose report figures are worked out by hand in test_figures.py.

Location A1 is in Dubai (UTC+4, no daylight saving), so several records sit on the other side of
a local midnight than their UTC date says. A2 (UTC) adds to the agency's sums; B1 belongs to the
other agency and must never be counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from integrations.reporting.dirty import report_location_rebuild
from integrations.routing.models import RoutingDecision
from tenants.models import Location
from tests import factories
from tests.conftest import World

FROM, TO = date(2026, 3, 1), date(2026, 3, 7)


def utc(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@dataclass
class Dataset:
    a1: Location
    a2: Location
    b1: Location


def decision(location: Location, contact: str, status: str, agent: str, at: datetime) -> None:
    RoutingDecision.objects.create(
        location=location, contact_ghl_id=contact, status=status, agent_ghl_id=agent, created_at=at
    )


def build(world: World) -> Dataset:
    a1, a2 = world.a.locations
    b1 = world.b.locations[0]
    Location.objects.unscoped().filter(pk=a1.pk).update(timezone="Asia/Dubai")
    a1.refresh_from_db()

    mk = {"location": a1}
    factories.MirrorUserFactory(**mk, ghl_id="u1", first_name="Amal", last_name="Haddad")
    factories.MirrorUserFactory(**mk, ghl_id="u2", first_name="Bilal", last_name="Khan")
    factories.MirrorPipelineFactory(
        **mk,
        ghl_id="p1",
        name="Sales",
        stages=[{"id": "s1", "name": "New"}, {"id": "s2", "name": "Qualified"}],
    )
    contact = factories.MirrorContactFactory
    contact(**mk, ghl_id="c1", date_added=utc(2, 4), source="Website", assigned_to="u1")
    # 21:30 UTC on the 1st is 01:30 on the 2nd in Dubai; 19:59 UTC is 23:59 on the 1st.
    contact(**mk, ghl_id="c2", date_added=utc(1, 21, 30), source="Website", assigned_to="u2")
    contact(**mk, ghl_id="c3", date_added=utc(1, 19, 59), source="Facebook", assigned_to="u1")
    contact(**mk, ghl_id="c4", date_added=utc(3, 10), source="", assigned_to="")
    contact(**mk, ghl_id="c5", date_added=utc(20, 10, month=2), source="Website")

    decision(a1, "c1", "assigned", "u1", utc(2, 4, 2))  # +120 s
    decision(a1, "c2", "assigned", "u2", utc(1, 21, 40))  # +600 s
    decision(a1, "c3", "unroutable", "", utc(1, 20, 0))  # 00:00 on the 2nd in Dubai

    message = factories.MirrorMessageFactory
    message(
        **mk,
        contact_ghl_id="c1",
        direction="inbound",
        date_added=utc(2, 4, 0) + timedelta(seconds=10),
    )
    message(**mk, contact_ghl_id="c1", direction="outbound", date_added=utc(2, 4, 3))  # +180 s
    message(**mk, contact_ghl_id="c1", direction="outbound", date_added=utc(2, 5))
    message(**mk, contact_ghl_id="c3", direction="outbound", date_added=utc(1, 20, 14))  # +900 s

    opp = factories.MirrorOpportunityFactory
    common = {**mk, "pipeline_ghl_id": "p1"}
    opp(
        **common,
        ghl_id="o1",
        contact_ghl_id="c1",
        stage_ghl_id="s1",
        status="open",
        monetary_value=Decimal("1000.00"),
        assigned_to="u1",
        source="Website",
        ghl_created_at=utc(2, 5),
    )
    opp(
        **common,
        ghl_id="o2",
        contact_ghl_id="c2",
        stage_ghl_id="s2",
        status="open",
        monetary_value=Decimal("2500.50"),
        assigned_to="u2",
        source="Website",
        ghl_created_at=utc(2, 6),
    )
    opp(
        **common,
        ghl_id="o3",
        contact_ghl_id="c3",
        stage_ghl_id="s2",
        status="won",
        monetary_value=Decimal("4000.00"),
        assigned_to="u1",
        source="Facebook",
        ghl_created_at=utc(1, 19),
        last_status_change_at=utc(4, 12),
    )
    opp(
        **common,
        ghl_id="o4",
        contact_ghl_id="c4",
        stage_ghl_id="s1",
        status="lost",
        monetary_value=Decimal("700.00"),
        assigned_to="",
        source="",
        ghl_created_at=utc(3, 11),
        last_status_change_at=utc(5, 9),
    )
    opp(
        **common,
        ghl_id="o5",
        contact_ghl_id="c5",
        stage_ghl_id="s2",
        status="won",
        monetary_value=Decimal("999.00"),
        assigned_to="u2",
        source="Website",
        ghl_created_at=utc(20, 11, month=2),
        last_status_change_at=utc(25, 9, month=2),
    )

    appt = factories.MirrorAppointmentFactory
    appt(**mk, ghl_id="a1", assigned_user_ghl_id="u1", status="showed", start_time=utc(2, 10))
    appt(**mk, ghl_id="a2", assigned_user_ghl_id="u1", status="noshow", start_time=utc(3, 10))
    appt(**mk, ghl_id="a3", assigned_user_ghl_id="u2", status="confirmed", start_time=utc(4, 10))
    appt(**mk, ghl_id="a4", assigned_user_ghl_id="u2", status="cancelled", start_time=utc(4, 11))
    # 20:30 UTC on the 7th is 00:30 on the 8th in Dubai: after the range.
    appt(**mk, ghl_id="a5", assigned_user_ghl_id="u2", status="showed", start_time=utc(7, 20, 30))

    factories.MirrorContactFactory(
        location=a2, ghl_id="c6", date_added=utc(2, 12), source="Website"
    )
    opp(
        location=a2,
        ghl_id="o6",
        status="won",
        monetary_value=Decimal("100.00"),
        ghl_created_at=utc(2, 13),
        last_status_change_at=utc(3, 9),
    )

    factories.MirrorContactFactory(location=b1, ghl_id="cb", date_added=utc(2, 12), source="B Ads")
    opp(
        location=b1,
        ghl_id="ob",
        status="won",
        monetary_value=Decimal("5555.00"),
        ghl_created_at=utc(2, 13),
        last_status_change_at=utc(3, 9),
    )

    for location in (a1, a2, b1):
        report_location_rebuild(location_id=location.pk)
    return Dataset(a1=a1, a2=a2, b1=b1)
