"""Reading a dashboard's date range and filters from a query string, refusing what makes no sense.

Presets count back from "today" in the location's time zone (UTC for the agency's dashboard);
a custom range names both ends. A bad range is refused with a message, never guessed at.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from saas_platform.kernel.errors import ApplicationError

from .figures import Filters

MAX_DAYS = 366
PRESETS = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "month": "This month",
    "last_month": "Last month",
    "custom": "Custom",
}
DEFAULT_PRESET = "30d"


class BadRange(ApplicationError):
    pass


@dataclass(frozen=True)
class Period:
    preset: str
    date_from: date
    date_to: date


def today_in(zone: str) -> date:
    return timezone.now().astimezone(ZoneInfo(zone)).date()


def period_for(preset: str, today: date) -> Period:
    if preset == "month":
        return Period(preset, today.replace(day=1), today)
    if preset == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return Period(preset, last.replace(day=1), last)
    days = int(preset.rstrip("d"))
    return Period(preset, today - timedelta(days=days - 1), today)


def _day(raw: str, name: str) -> date:
    try:
        return datetime.strptime(raw.strip(), "%Y-%m-%d").date()  # noqa: DTZ007 — a calendar day
    except ValueError:
        raise BadRange(f"The {name} date “{raw[:20]}” is not a date like 2026-03-01.") from None


def period_parse(query: Mapping[str, str], *, today: date) -> Period:
    """The period the query asks for; `BadRange` with a message for a bad one."""
    preset = query.get("range") or (
        "custom" if query.get("from") or query.get("to") else DEFAULT_PRESET
    )
    if preset not in PRESETS:
        raise BadRange(f"Unknown date range “{preset[:20]}”.")
    if preset != "custom":
        return period_for(preset, today)
    if not query.get("from") or not query.get("to"):
        raise BadRange("A custom range needs both a start and an end date.")
    start, end = _day(query["from"], "start"), _day(query["to"], "end")
    if start > end:
        raise BadRange("The start date is after the end date.")
    if (end - start).days + 1 > MAX_DAYS:
        raise BadRange(f"A range can span at most {MAX_DAYS} days.")
    if start > today:
        raise BadRange("The range starts in the future.")
    return Period(preset, start, end)


def filters_parse(query: Mapping[str, str], *, location_ids: set[int] | None = None) -> Filters:
    """Filters from the query; a location outside `location_ids` is refused, not ignored."""
    location_id = None
    raw = (query.get("location") or "").strip()
    if raw and location_ids is not None:
        if not raw.isdigit() or int(raw) not in location_ids:
            raise BadRange("No such location.")
        location_id = int(raw)
    return Filters(
        location_id=location_id,
        source=(query.get("source") or "")[:200],
        pipeline=(query.get("pipeline") or "")[:64],
        agent=(query.get("agent") or "")[:64],
    )
