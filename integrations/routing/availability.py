"""Whether an agent may take a lead at an instant: active, not out of office, inside business
hours. Hours are wall-clock times in the agent's (or the location's) time zone, so converting the
UTC instant with zoneinfo makes them follow daylight-saving changes by themselves."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time
from functools import lru_cache
from typing import Any

from saas_platform.kernel.errors import ApplicationError

from .models import AgentProfile

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@lru_cache(maxsize=256)
def zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def validate_timezone(name: str) -> None:
    if not name:
        return
    if name not in zoneinfo.available_timezones():
        raise ApplicationError(f"{name!r} is not a known IANA time zone (e.g. Asia/Dubai).")


def _clock(text: Any, where: str) -> time:
    if isinstance(text, str) and len(text) == 5:
        try:
            return time.fromisoformat(text)
        except ValueError:
            pass
    raise ApplicationError(f"{where}: {text!r} is not an HH:MM time.")


def validate_hours(hours: Any) -> None:
    """{"mon": [["09:00", "17:00"], …], …}: known days, HH:MM ranges that end after they start.
    (A shift over midnight is written as two ranges, one on each day.)"""
    if not isinstance(hours, dict):
        raise ApplicationError("Business hours must be an object keyed by day (mon … sun).")
    for day, ranges in hours.items():
        if day not in DAYS:
            raise ApplicationError(f"Business hours: unknown day {day!r} (use {', '.join(DAYS)}).")
        if not isinstance(ranges, list):
            raise ApplicationError(f"Business hours {day}: expected a list of [start, end].")
        for pair in ranges:
            if not (isinstance(pair, list) and len(pair) == 2):
                raise ApplicationError(f"Business hours {day}: {pair!r} is not [start, end].")
            start, end = (_clock(t, f"Business hours {day}") for t in pair)
            if end <= start:
                raise ApplicationError(f"Business hours {day}: {pair} ends before it starts.")


def local_now(now: datetime, tz_name: str) -> datetime:
    return now.astimezone(zone(tz_name))


def within_hours(hours: dict[str, Any], local: datetime) -> bool:
    if not hours:
        return True
    clock = local.time().replace(tzinfo=None)
    for start, end in hours.get(DAYS[local.weekday()], []):
        if time.fromisoformat(start) <= clock < time.fromisoformat(end):
            return True
    return False


def unavailable_reason(agent: AgentProfile, now: datetime, location_tz: str) -> str | None:
    """None when the agent may take a lead now, else the reason code stored on the decision."""
    if not agent.active:
        return "inactive"
    start, until = agent.out_of_office_from, agent.out_of_office_until
    if (start or until) and (start is None or start <= now) and (until is None or now < until):
        return "out_of_office"
    if not within_hours(agent.hours, local_now(now, agent.hours_timezone or location_tz)):
        return "outside_hours"
    return None
