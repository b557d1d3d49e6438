"""Calendars, free slots and appointments (``Version: 2021-04-15``)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sandbox.ghl import errors
from sandbox.ghl.api.common import V4, loc, now_ms, route
from sandbox.ghl.clock import iso_ms, parse_iso_ms
from sandbox.ghl.events import appointment_payload
from sandbox.ghl.ids import new_id
from sandbox.ghl.pipeline import ApiRoute, Ctx, Reply
from sandbox.ghl.state import SandboxState
from sandbox.ghl.store.calendars import (
    DAY_MS,
    Appointment,
    appointment_response,
    free_slots,
    new_appointment,
    overlaps,
    to_local_iso,
)
from sandbox.ghl.store.world import Location

SLOT_TAKEN = "The slot you have selected is no longer available."
MAX_RANGE_DAYS = 31


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise errors.bad_request(f"Invalid timezone: {name}") from exc


def _ms(value: Any, name: str) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError) as exc:
        raise errors.unprocessable(f"{name} must be a number") from exc


def _iso(value: Any, name: str) -> int:
    try:
        return parse_iso_ms(str(value))
    except ValueError as exc:
        raise errors.unprocessable(f"{name} must be a valid ISO 8601 date string") from exc


def book_appointment(state: SandboxState, location: Location, data: dict[str, Any]) -> Appointment:
    store = location.data.calendars
    calendar = store.calendars.get(data["calendarId"])
    if calendar is None:
        raise errors.bad_request("Calendar not found")
    if location.data.contacts.get(data["contactId"]) is None:
        raise errors.bad_request("Contact not found")
    start = _iso(data["startTime"], "startTime")
    end = (
        _iso(data["endTime"], "endTime")
        if data.get("endTime")
        else (start + int(calendar.get("slotDuration") or 30) * 60_000)
    )
    if end <= start:
        raise errors.bad_request("endTime must be after startTime")
    capacity = int(calendar.get("appoinmentPerSlot") or 1)
    if not data.get("ignoreFreeSlotValidation") and overlaps(
        start, end, store.booked(calendar["id"]), capacity
    ):
        raise errors.bad_request(SLOT_TAKEN)
    appt = new_appointment(new_id(), calendar, data, start, end, _zone(location.timezone), now_ms())
    store.add_appointment(appt, start, end)
    state.world.claim("appointment", appt["id"], location.id)
    state.emit_location_event(location.id, "AppointmentCreate", appointment_payload(appt))
    return appt


async def list_calendars(ctx: Ctx) -> Any:
    location = ctx.location(ctx.require_query("locationId"))
    group = ctx.query("groupId")
    calendars = [
        c
        for c in location.data.calendars.calendars.values()
        if not group or c.get("groupId") == group
    ]
    return {"calendars": calendars}


async def get_free_slots(ctx: Ctx) -> Any:
    calendar_id = ctx.params["calendarId"]
    location = ctx.owned("calendar", calendar_id, "Calendar")
    start = _ms(ctx.require_query("startDate"), "startDate")
    end = _ms(ctx.require_query("endDate"), "endDate")
    if end < start:
        raise errors.bad_request("endDate must be greater than startDate")
    if end - start > MAX_RANGE_DAYS * DAY_MS:
        raise errors.bad_request(f"Date range cannot exceed {MAX_RANGE_DAYS} days")
    calendar_tz = _zone(location.timezone)
    out_tz = _zone(ctx.query("timezone") or location.timezone)
    store = location.data.calendars
    calendar = store.calendars[calendar_id]
    return free_slots(
        calendar, calendar_tz, store.booked(calendar_id), start, end, out_tz, now_ms()
    )


async def create_appointment(ctx: Ctx) -> Any:
    location = ctx.location(ctx.body.get("locationId"))
    return appointment_response(book_appointment(ctx.state, location, ctx.body))


def _owned(ctx: Ctx) -> tuple[Location, Appointment]:
    event_id = ctx.params["eventId"]
    location = ctx.owned("appointment", event_id, "Appointment")
    return location, location.data.calendars.appointments[event_id]


async def get_appointment(ctx: Ctx) -> Any:
    return {"event": _owned(ctx)[1]}


async def update_appointment(ctx: Ctx) -> Any:
    location, appt = _owned(ctx)
    body, store = ctx.body, location.data.calendars
    calendar_id = body.get("calendarId") or appt["calendarId"]
    calendar = store.calendars.get(calendar_id)
    if calendar is None:
        raise errors.bad_request("Calendar not found")
    start, end = store.span_ms[appt["id"]]
    if body.get("startTime"):
        length = end - start
        start = _iso(body["startTime"], "startTime")
        end = start + length
    if body.get("endTime"):
        end = _iso(body["endTime"], "endTime")
    if end <= start:
        raise errors.bad_request("endTime must be after startTime")
    status = body.get("appointmentStatus", appt["appointmentStatus"])
    moved = (start, end) != store.span_ms[appt["id"]] or calendar_id != appt["calendarId"]
    if (
        moved
        and status not in ("cancelled", "invalid")
        and not body.get("ignoreFreeSlotValidation")
        and overlaps(
            start,
            end,
            store.booked(calendar_id, exclude=appt["id"]),
            int(calendar.get("appoinmentPerSlot") or 1),
        )
    ):
        raise errors.bad_request(SLOT_TAKEN)
    tz = _zone(location.timezone)
    for key in (
        "title",
        "appointmentStatus",
        "assignedUserId",
        "address",
        "description",
        "meetingLocationType",
    ):
        if key in body:
            appt[key] = body[key]
    if body.get("assignedUserId"):
        appt["users"] = [body["assignedUserId"]]
    appt["calendarId"] = calendar_id
    appt["startTime"], appt["endTime"] = to_local_iso(start, tz), to_local_iso(end, tz)
    appt["dateUpdated"] = iso_ms(now_ms())
    store.span_ms[appt["id"]] = (start, end)
    ctx.state.emit_location_event(location.id, "AppointmentUpdate", appointment_payload(appt))
    return appointment_response(appt)


async def list_events(ctx: Ctx) -> Any:
    location = ctx.location(ctx.require_query("locationId"))
    start = _ms(ctx.require_query("startTime"), "startTime")
    end = _ms(ctx.require_query("endTime"), "endTime")
    calendar_id, user_id, group_id = (
        ctx.query("calendarId"),
        ctx.query("userId"),
        ctx.query("groupId"),
    )
    if not (calendar_id or user_id or group_id):
        raise errors.unprocessable("One of calendarId, userId or groupId is required")
    events = location.data.calendars.events(start, end, calendar_id, user_id, group_id)
    return {"events": events}


async def delete_event(ctx: Ctx) -> Any:
    location, appt = _owned(ctx)
    location.data.calendars.remove_appointment(appt["id"])
    ctx.state.world.release(appt["id"])
    ctx.state.emit_location_event(location.id, "AppointmentDelete", appointment_payload(appt))
    return Reply(201, {"succeeded": True})


def routes() -> list[ApiRoute]:
    read = loc("calendars.readonly")
    ev_read, ev_write = loc("calendars/events.readonly"), loc("calendars/events.write")
    spec = "calendars"
    appt_path = "/calendars/events/appointments/{eventId}"
    return [
        route("GET", "/calendars/", spec, "get-calendars", V4, [read], list_calendars),
        route("GET", "/calendars/events", spec, "get-calendar-events", V4, [ev_read], list_events),
        route(
            "POST",
            "/calendars/events/appointments",
            spec,
            "create-appointment",
            V4,
            [ev_write],
            create_appointment,
            body="json",
        ),
        route("GET", appt_path, spec, "get-appointment", V4, [ev_read], get_appointment),
        route(
            "PUT",
            appt_path,
            spec,
            "edit-appointment",
            V4,
            [ev_write],
            update_appointment,
            body="json",
        ),
        route(
            "DELETE",
            "/calendars/events/{eventId}",
            spec,
            "delete-event",
            V4,
            [ev_write],
            delete_event,
            status=201,
            body="json",
        ),
        route(
            "GET",
            "/calendars/{calendarId}/free-slots",
            spec,
            "get-slots",
            V4,
            [read],
            get_free_slots,
        ),
    ]
