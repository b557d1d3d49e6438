"""The appointments calendar of a location, in the location's own time zone: which days a week or
month view shows, and the mirrored appointments that start on each of them.

Day boundaries are local midnights turned into instants by the zone database, so a day that
loses or gains an hour at a daylight-saving change is 23 or 25 hours long and every appointment
lands on the day its local start time says."""

from __future__ import annotations

import calendar as calendar_module
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from integrations.mirror.models import MirrorAppointment, MirrorContact
from tenants.models import Location

View = Literal["week", "month", "list"]
VIEWS: tuple[View, ...] = ("week", "month", "list")
PER_MONTH_CELL = 3


@dataclass(frozen=True)
class Entry:
    ghl_id: str
    title: str
    status: str
    contact_name: str
    start: datetime  # in the location's zone
    end: datetime | None


@dataclass
class Day:
    day: date
    in_period: bool  # False: a leading/trailing day of a month grid
    is_today: bool
    entries: list[Entry] = field(default_factory=list)

    @property
    def shown(self) -> list[Entry]:
        return self.entries[:PER_MONTH_CELL]

    @property
    def more(self) -> int:
        return max(0, len(self.entries) - PER_MONTH_CELL)


@dataclass(frozen=True)
class Period:
    view: View
    anchor: date
    first: date  # first day shown
    last: date  # last day shown (inclusive)
    previous: date
    next: date
    title: str


def location_zone(location: Location) -> ZoneInfo:
    return ZoneInfo(location.timezone or "UTC")


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def period_for(*, view: View, anchor: date) -> Period:
    """Weeks start on Monday; a month view shows whole weeks around the month."""
    if view == "month":
        month_first = anchor.replace(day=1)
        days_in_month = calendar_module.monthrange(anchor.year, anchor.month)[1]
        month_last = month_first + timedelta(days=days_in_month - 1)
        first = month_first - timedelta(days=month_first.weekday())
        last = month_last + timedelta(days=6 - month_last.weekday())
        previous = (month_first - timedelta(days=1)).replace(day=1)
        following = month_last + timedelta(days=1)
        return Period(view, anchor, first, last, previous, following, anchor.strftime("%B %Y"))
    first = anchor - timedelta(days=anchor.weekday())
    last = first + timedelta(days=6)
    title = f"{first:%d %b} to {last:%d %b %Y}"
    return Period(
        view, anchor, first, last, first - timedelta(days=7), first + timedelta(days=7), title
    )


def appointments_between(*, location: Location, first: date, last: date) -> list[Entry]:
    """Appointments starting between local midnight of `first` and that after `last`."""
    zone = location_zone(location)
    start, end = local_midnight(first, zone), local_midnight(last + timedelta(days=1), zone)
    rows = list(
        MirrorAppointment.objects.for_location(location)
        .filter(start_time__gte=start, start_time__lt=end)
        .order_by("start_time", "ghl_id")
    )
    wanted = {row.contact_ghl_id for row in rows if row.contact_ghl_id}
    names = {
        c.ghl_id: str(c)
        for c in MirrorContact.objects.for_location(location).filter(ghl_id__in=wanted)
    }
    return [
        Entry(
            ghl_id=row.ghl_id,
            title=row.title or "Appointment",
            status=row.status,
            contact_name=names.get(row.contact_ghl_id, ""),
            start=row.start_time.astimezone(zone),
            end=row.end_time.astimezone(zone) if row.end_time else None,
        )
        for row in rows
        if row.start_time is not None
    ]


def calendar_days(*, location: Location, period: Period, today: date) -> list[Day]:
    entries = appointments_between(location=location, first=period.first, last=period.last)
    days: dict[date, Day] = {}
    day = period.first
    while day <= period.last:
        in_period = period.view != "month" or day.month == period.anchor.month
        days[day] = Day(day=day, in_period=in_period, is_today=day == today)
        day += timedelta(days=1)
    for entry in entries:
        days[entry.start.date()].entries.append(entry)
    return list(days.values())


def weeks(days: list[Day]) -> list[list[Day]]:
    return [days[i : i + 7] for i in range(0, len(days), 7)]
