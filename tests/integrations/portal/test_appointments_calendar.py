"""The appointments calendar: days in the location's zone, across a daylight-saving change, and
the week, month and list pages with their navigation."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from integrations.portal import calendar_grid
from tenants.models import Location
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")


def _at(location: Location, ghl_id: str, local: datetime, title: str = "Visit") -> None:
    factories.MirrorAppointmentFactory(
        location=location, ghl_id=ghl_id, title=title, start_time=local
    )


def _new_york(world: World) -> Location:
    location = world.a.locations[0]
    location.timezone = "America/New_York"
    location.save(update_fields=["timezone"])
    return location


def test_periods_start_on_monday_and_months_cover_whole_weeks() -> None:
    week = calendar_grid.period_for(view="week", anchor=date(2026, 3, 11))
    assert (week.first, week.last) == (date(2026, 3, 9), date(2026, 3, 15))
    assert (week.previous, week.next) == (date(2026, 3, 2), date(2026, 3, 16))
    month = calendar_grid.period_for(view="month", anchor=date(2026, 3, 11))
    assert (month.first, month.last) == (date(2026, 2, 23), date(2026, 4, 5))
    assert (month.previous, month.next) == (date(2026, 2, 1), date(2026, 4, 1))


def test_a_week_across_the_spring_change_puts_each_appointment_on_its_local_day(
    world: World,
) -> None:
    """New York moves its clocks forward on Sunday 8 March 2026 at 02:00 (UTC-5 → UTC-4)."""
    location = _new_york(world)
    _at(location, "before-week", datetime(2026, 3, 1, 23, 59, tzinfo=NEW_YORK))
    _at(location, "monday-early", datetime(2026, 3, 2, 0, 0, tzinfo=NEW_YORK))
    # 23:30 local on Saturday is already Sunday in UTC.
    _at(location, "saturday-late", datetime(2026, 3, 7, 23, 30, tzinfo=NEW_YORK))
    _at(location, "sunday-after-change", datetime(2026, 3, 8, 10, 0, tzinfo=NEW_YORK))
    _at(location, "sunday-last-minute", datetime(2026, 3, 8, 23, 59, tzinfo=NEW_YORK))
    # Midnight of the next Monday is 04:00 UTC (not 05:00): it belongs to the next week.
    _at(location, "next-monday", datetime(2026, 3, 9, 4, 0, tzinfo=UTC))

    period = calendar_grid.period_for(view="week", anchor=date(2026, 3, 4))
    days = calendar_grid.calendar_days(location=location, period=period, today=date(2026, 3, 4))

    placed = {
        d.day.isoformat(): [(e.ghl_id, e.start.strftime("%H:%M")) for e in d.entries] for d in days
    }
    assert placed == {
        "2026-03-02": [("monday-early", "00:00")],
        "2026-03-03": [],
        "2026-03-04": [],
        "2026-03-05": [],
        "2026-03-06": [],
        "2026-03-07": [("saturday-late", "23:30")],
        "2026-03-08": [("sunday-after-change", "10:00"), ("sunday-last-minute", "23:59")],
    }
    assert next(d for d in days if d.day == date(2026, 3, 4)).is_today


def test_the_autumn_change_keeps_the_repeated_hour_on_one_day(world: World) -> None:
    """1 November 2026: 01:00 to 02:00 happens twice in New York; both land on Sunday."""
    location = _new_york(world)
    _at(location, "first-0130", datetime(2026, 11, 1, 5, 30, tzinfo=UTC))  # 01:30 EDT
    _at(location, "second-0130", datetime(2026, 11, 1, 6, 30, tzinfo=UTC))  # 01:30 EST
    _at(location, "monday", datetime(2026, 11, 2, 5, 0, tzinfo=UTC))  # 00:00 EST Monday

    period = calendar_grid.period_for(view="week", anchor=date(2026, 10, 28))
    days = calendar_grid.calendar_days(location=location, period=period, today=date(2026, 1, 1))
    sunday = days[-1]
    assert sunday.day == date(2026, 11, 1)
    assert [(e.ghl_id, e.start.strftime("%H:%M %Z")) for e in sunday.entries] == [
        ("first-0130", "01:30 EDT"),
        ("second-0130", "01:30 EST"),
    ]
    assert all(e.ghl_id != "monday" for d in days for e in d.entries)


def test_week_month_and_list_pages_render_in_the_location_zone(
    world: World, agency_client: Any
) -> None:
    location = _new_york(world)
    contact = factories.MirrorContactFactory(
        location=location, ghl_id="c-9", first_name="Lina", last_name="Saleh"
    )
    factories.MirrorAppointmentFactory(
        location=location,
        ghl_id="appt-1",
        title="Consultation",
        contact_ghl_id=contact.ghl_id,
        start_time=datetime(2026, 3, 8, 14, 0, tzinfo=UTC),  # 10:00 EDT
        end_time=datetime(2026, 3, 8, 14, 30, tzinfo=UTC),
    )
    factories.MirrorAppointmentFactory(
        location=world.a.locations[1],
        ghl_id="sibling",
        title="Not here",
        start_time=datetime(2026, 3, 8, 14, 0, tzinfo=UTC),
    )
    client = agency_client(world.a, world.a.client_admin)
    url = f"/app/l/{location.pk}/appointments/"

    week = client.get(url, {"date": "2026-03-05"}).content.decode()
    assert "10:00\u201310:30" in week and "Consultation" in week and "Lina Saleh" in week
    assert "Not here" not in week
    assert "America/New_York" in week
    assert "date=2026-02-23" in week and "date=2026-03-09" in week  # previous / next week

    month = client.get(url, {"view": "month", "date": "2026-03-05"}).content.decode()
    assert "March 2026" in month and "Consultation" in month
    assert 'data-day="2026-04-05"' in month  # the grid ends on the last Sunday

    listing = client.get(url, {"view": "list", "date": "2026-03-05"}).content.decode()
    assert "<table" in listing and "Lina Saleh" in listing

    empty = client.get(url, {"view": "list", "date": "2026-06-01"}).content.decode()
    assert "No appointments this week" in empty
    # Nonsense parameters fall back to this week's view instead of failing.
    assert client.get(url, {"view": "year", "date": "soon"}).status_code == 200
