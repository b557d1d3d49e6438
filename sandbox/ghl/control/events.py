"""``POST /_sandbox/events``: make something happen "inside GHL" and emit its webhook(s)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sandbox.ghl.api import calendars as calendar_api
from sandbox.ghl.api import contacts as contact_api
from sandbox.ghl.api import conversations as conversation_api
from sandbox.ghl.api import opportunities as opportunity_api
from sandbox.ghl.errors import ApiError
from sandbox.ghl.events import appointment_payload, opportunity_payload
from sandbox.ghl.ids import new_id
from sandbox.ghl.oauth.installs import InstallError
from sandbox.ghl.seed.generator import ensure_structure
from sandbox.ghl.state import SandboxState
from sandbox.ghl.store.world import Location


class EventError(ValueError):
    pass


def _location(state: SandboxState, location_id: Any) -> Location:
    location = state.world.locations.get(str(location_id or ""))
    if location is None:
        raise EventError(f"unknown locationId {location_id!r}")
    return location


def _record(location: Location, kind: str, record_id: Any) -> dict[str, Any]:
    stores: dict[str, dict[str, dict[str, Any]]] = {
        "contact": location.data.contacts.by_id,
        "opportunity": location.data.opportunities.by_id,
        "appointment": location.data.calendars.appointments,
    }
    found = stores[kind].get(str(record_id or ""))
    if found is None:
        raise EventError(f"unknown {kind} id {record_id!r} in {location.id}")
    return found


def create_location(state: SandboxState, data: dict[str, Any]) -> Location:
    """A new sub-account: emits LocationCreate and installs agency apps set to future locations."""
    company = state.world.companies.get(str(data.get("companyId", "")))
    if company is None:
        raise EventError(f"unknown companyId {data.get('companyId')!r}")
    location = state.world.add_location(
        Location(
            id=data.get("id") or new_id(),
            company_id=company.id,
            name=data.get("name", "New Location"),
            timezone=data.get("timezone", "America/New_York"),
            vertical=data.get("vertical", "generic"),
            country=data.get("country", "US"),
            city=data.get("city", ""),
            email=data.get("email", ""),
            phone=data.get("phone", ""),
        )
    )
    ensure_structure(state, location, int(data.get("seed", 1)))
    payload = {
        "id": location.id,
        "companyId": company.id,
        "name": location.name,
        "email": location.email,
    }
    for (client_id, target), inst in list(state.tokens.installs.items()):
        if target != company.id or inst.location_id is not None:
            continue
        app = state.config.apps.get(client_id)
        if app is not None and "locations.readonly" in inst.scopes:
            state.webhooks.emit(app, "LocationCreate", payload, company.id)
        if inst.future and not inst.approve_all:
            inst.approved_locations.append(location.id)
        if inst.future or inst.approve_all:
            state.emit_install(replace(inst, location_id=location.id, approved_locations=[]))
    return location


def trigger(state: SandboxState, body: dict[str, Any]) -> dict[str, Any]:
    event_type = str(body.get("type", ""))
    data = dict(body.get("data") or {})
    before = state.webhooks.log[-1].id if state.webhooks.log else 0
    result: Any = None
    try:
        result = _apply(state, event_type, body, data)
    except (ApiError, InstallError) as exc:
        message = exc.message if isinstance(exc, ApiError) else str(exc)
        raise EventError(str(message)) from exc
    deliveries = [d.to_dict(include_body=False) for d in state.webhooks.log if d.id > before]
    return {"type": event_type, "result": result, "deliveries": deliveries}


def _apply(state: SandboxState, event_type: str, body: dict[str, Any], data: dict[str, Any]) -> Any:
    if event_type == "LocationCreate":
        return create_location(state, data).to_api(None)
    location = _location(state, body.get("locationId") or data.get("locationId"))
    if body.get("raw"):
        return [d.id for d in state.emit_location_event(location.id, event_type, data)]
    if event_type == "ContactCreate":
        return contact_api.create_contact(state, location, data)
    if event_type in ("ContactUpdate", "ContactTagUpdate", "ContactDndUpdate"):
        contact = _record(location, "contact", data.pop("id", None))
        contact_api.update_contact(state, location, contact, data)
        return contact
    if event_type == "ContactDelete":
        return contact_api.delete_contact_op(state, location, str(data.get("id", "")))
    if event_type == "OpportunityCreate":
        data.setdefault("pipelineId", location.data.pipelines[0]["id"])
        return opportunity_api.create_opportunity(state, location, data)
    if event_type.startswith("Opportunity") and event_type != "OpportunityDelete":
        opp = _record(location, "opportunity", data.pop("id", None))
        opportunity_api.update_opportunity(state, location, opp, data)
        return opp
    if event_type == "OpportunityDelete":
        opp = _record(location, "opportunity", data.get("id"))
        location.data.opportunities.remove(opp["id"])
        state.world.release(opp["id"])
        state.emit_location_event(location.id, event_type, opportunity_payload(opp))
        return opp
    if event_type == "AppointmentCreate":
        data.setdefault("calendarId", next(iter(location.data.calendars.calendars)))
        data["locationId"] = location.id
        return calendar_api.book_appointment(state, location, data)
    if event_type in ("AppointmentUpdate", "AppointmentDelete"):
        appt = _record(location, "appointment", data.get("id"))
        if event_type == "AppointmentDelete":
            location.data.calendars.remove_appointment(appt["id"])
            state.world.release(appt["id"])
        else:
            appt.update(
                {
                    k: v
                    for k, v in data.items()
                    if k in ("title", "appointmentStatus", "assignedUserId", "notes", "address")
                }
            )
        state.emit_location_event(location.id, event_type, appointment_payload(appt))
        return appt
    if event_type in ("InboundMessage", "OutboundMessage"):
        contact = _record(location, "contact", data.get("contactId"))
        direction = "inbound" if event_type == "InboundMessage" else "outbound"
        return conversation_api.add_message(
            state,
            location,
            contact,
            data.get("messageType", "SMS"),
            direction,
            str(data.get("body", "")),
        )
    raise EventError(f"unsupported event type {event_type!r} (send raw: true to emit as-is)")
