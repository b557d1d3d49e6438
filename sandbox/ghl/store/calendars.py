"""Calendars, appointments, and free-slot computation from open hours."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.ghl.clock import iso_ms

Calendar = dict[str, Any]
Appointment = dict[str, Any]
APPOINTMENT_STATUSES = ("new", "confirmed", "cancelled", "showed", "noshow", "invalid")
# Statuses that free the slot again.
RELEASING = {"cancelled", "invalid"}
DAY_MS = 86_400_000


class CalendarStore:
    def __init__(self) -> None:
        self.calendars: dict[str, Calendar] = {}
        self.appointments: dict[str, Appointment] = {}
        self.span_ms: dict[str, tuple[int, int]] = {}

    def add_calendar(self, calendar: Calendar) -> None:
        self.calendars[calendar["id"]] = calendar

    def add_appointment(self, appt: Appointment, start_ms: int, end_ms: int) -> None:
        self.appointments[appt["id"]] = appt
        self.span_ms[appt["id"]] = (start_ms, end_ms)

    def remove_appointment(self, appt_id: str) -> Appointment | None:
        self.span_ms.pop(appt_id, None)
        return self.appointments.pop(appt_id, None)

    def booked(self, calendar_id: str, exclude: str | None = None) -> list[tuple[int, int]]:
        return [
            self.span_ms[a["id"]]
            for a in self.appointments.values()
            if a["calendarId"] == calendar_id
            and a["appointmentStatus"] not in RELEASING
            and a["id"] != exclude
        ]

    def events(
        self,
        start_ms: int,
        end_ms: int,
        calendar_id: str | None = None,
        user_id: str | None = None,
        group_id: str | None = None,
    ) -> list[Appointment]:
        out = []
        for appt in self.appointments.values():
            start, end = self.span_ms[appt["id"]]
            if end <= start_ms or start >= end_ms:
                continue
            if calendar_id and appt["calendarId"] != calendar_id:
                continue
            if user_id and appt.get("assignedUserId") != user_id:
                continue
            if group_id and appt.get("groupId") != group_id:
                continue
            out.append(appt)
        out.sort(key=lambda a: self.span_ms[a["id"]])
        return out


def to_local_iso(epoch_ms: int, tz: ZoneInfo) -> str:
    """Appointment times as GHL sends them: ISO-8601 with the calendar's UTC offset."""
    return datetime.fromtimestamp(epoch_ms / 1000, tz=tz).isoformat(timespec="seconds")


def overlaps(start: int, end: int, booked: list[tuple[int, int]], capacity: int) -> bool:
    return sum(1 for b_start, b_end in booked if b_start < end and start < b_end) >= capacity


def free_slots(
    calendar: Calendar,
    calendar_tz: ZoneInfo,
    booked: list[tuple[int, int]],
    start_ms: int,
    end_ms: int,
    out_tz: ZoneInfo,
    now_ms: int,
) -> dict[str, dict[str, list[str]]]:
    """Slots between start and end: open hours (in the calendar's zone) minus booked time."""
    duration = int(calendar.get("slotDuration") or 30) * 60_000
    interval = int(calendar.get("slotInterval") or calendar.get("slotDuration") or 30) * 60_000
    capacity = int(calendar.get("appoinmentPerSlot") or 1)
    earliest = max(start_ms, now_ms)
    relevant = [b for b in booked if b[1] > start_ms and b[0] < end_ms + duration]
    result: dict[str, dict[str, list[str]]] = {}

    day = datetime.fromtimestamp(start_ms / 1000, tz=calendar_tz).date()
    last_day = datetime.fromtimestamp(end_ms / 1000, tz=calendar_tz).date()
    while day <= last_day:
        js_weekday = (day.weekday() + 1) % 7  # GHL counts days like JavaScript: 0 = Sunday
        for rule in calendar.get("openHours", []):
            if js_weekday not in rule.get("daysOfTheWeek", []):
                continue
            for hours in rule.get("hours", []):
                opens = datetime(
                    day.year,
                    day.month,
                    day.day,
                    hours["openHour"],
                    hours["openMinute"],
                    tzinfo=calendar_tz,
                )
                closes = datetime(
                    day.year,
                    day.month,
                    day.day,
                    hours["closeHour"],
                    hours["closeMinute"],
                    tzinfo=calendar_tz,
                )
                slot = int(opens.timestamp() * 1000)
                close_ms = int(closes.timestamp() * 1000)
                while slot + duration <= close_ms:
                    if earliest <= slot <= end_ms and not overlaps(
                        slot, slot + duration, relevant, capacity
                    ):
                        local = datetime.fromtimestamp(slot / 1000, tz=out_tz)
                        key = local.date().isoformat()
                        result.setdefault(key, {"slots": []})["slots"].append(
                            local.isoformat(timespec="seconds")
                        )
                    slot += interval
        day += timedelta(days=1)
    for entry in result.values():
        entry["slots"].sort()
    return dict(sorted(result.items()))


def new_appointment(
    appt_id: str,
    calendar: Calendar,
    data: dict[str, Any],
    start_ms: int,
    end_ms: int,
    tz: ZoneInfo,
    now_ms: int,
) -> Appointment:
    assigned = data.get("assignedUserId") or _primary_member(calendar)
    stamp = iso_ms(now_ms)
    return {
        "id": appt_id,
        "title": data.get("title") or f"Appointment with {calendar['name']}",
        "calendarId": calendar["id"],
        "locationId": calendar["locationId"],
        "contactId": data["contactId"],
        "groupId": calendar.get("groupId", ""),
        "appointmentStatus": data.get("appointmentStatus") or "confirmed",
        "assignedUserId": assigned,
        "users": [assigned] if assigned else [],
        "notes": data.get("notes", ""),
        "description": data.get("description", ""),
        "address": data.get("address", ""),
        "meetingLocationType": data.get("meetingLocationType", "default"),
        "isRecurring": False,
        "startTime": to_local_iso(start_ms, tz),
        "endTime": to_local_iso(end_ms, tz),
        "dateAdded": stamp,
        "dateUpdated": stamp,
        "source": data.get("source", "third_party"),
    }


def _primary_member(calendar: Calendar) -> str:
    members = calendar.get("teamMembers") or []
    for member in members:
        if member.get("isPrimary"):
            return str(member["userId"])
    return str(members[0]["userId"]) if members else ""


def appointment_response(appt: Appointment) -> dict[str, Any]:
    """The ``AppointmentSchemaResponse`` shape of create/update answers."""
    keys = (
        "id",
        "calendarId",
        "locationId",
        "contactId",
        "startTime",
        "endTime",
        "title",
        "meetingLocationType",
        "appointmentStatus",
        "assignedUserId",
        "address",
        "isRecurring",
    )
    return {k: appt[k] for k in keys if k in appt}
