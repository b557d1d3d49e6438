"""What happens in a demo location during one round of live traffic.

Unlike seeding, every change goes through the same operations the API uses, so each one emits
the webhooks GHL would send (ContactCreate, InboundMessage, AppointmentCreate,
OpportunityStageUpdate, ...). Content is drawn from the location's vertical with the caller's
random generator, so a fixed seed replays the same leads, messages, slots and stage moves.
"""

from __future__ import annotations

import random
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.ghl.api import calendars as calendar_api
from sandbox.ghl.api import contacts as contact_api
from sandbox.ghl.api import conversations as conversation_api
from sandbox.ghl.api import opportunities as opportunity_api
from sandbox.ghl.clock import Clock
from sandbox.ghl.seed.generator import INBOUND_LINES, OUTBOUND_LINES, vertical_of
from sandbox.ghl.seed.verticals import EMAIL_DOMAINS
from sandbox.ghl.state import SandboxState
from sandbox.ghl.store.calendars import free_slots
from sandbox.ghl.store.contacts import Contact
from sandbox.ghl.store.world import CustomField, Location

# Chance per round and location of each kind of activity.
CHANCES = {"contact": 0.7, "message": 0.6, "appointment": 0.25, "stage": 0.2}
# Fields the real-estate routing rules route on: a demo lead always carries them.
ALWAYS_FILLED = {"Preferred Area", "Property Type", "Budget (AED)", "Bedrooms"}
FIRST_MESSAGES = (
    "Hi, I just filled in your form. Is {topic} still available?",
    "Hello! I'm interested in {topic}. When can we talk?",
    "Saw your ad about {topic}, could you send me more details?",
)
HOUR_MS = 3_600_000
SLOT_WINDOW_MS = 14 * 86_400_000

Made = dict[str, str]


def lead_data(location: Location, rng: random.Random, serial: int) -> dict[str, Any]:
    """A realistic new lead: name, e-mail, phone, source, tags and the vertical's fields."""
    vertical = vertical_of(location)
    first, last = rng.choice(vertical.first_names), rng.choice(vertical.last_names)
    city, region, postal = rng.choice(vertical.areas)
    local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
    prefix = rng.choice(vertical.area_codes)
    digits = f"{rng.randrange(10**7):07d}"[1 if location.country == "GB" else 0 :]
    tags = rng.sample(vertical.tags, rng.randint(1, 3))
    return {
        "firstName": first,
        "lastName": last,
        "email": f"{local}.live{serial}@{rng.choice(EMAIL_DOMAINS)}",
        "phone": f"+{location.calling_code}{prefix}{digits}",
        "city": city,
        "state": region,
        "postalCode": postal,
        "country": location.country,
        "source": rng.choice(vertical.sources),
        "tags": [*tags, "demo traffic"],
        "customFields": [
            {"id": field.id, "field_value": value}
            for field in location.data.custom_fields.values()
            if (value := _field_value(field, rng, vertical.value_range)) is not None
        ],
    }


def _field_value(field: CustomField, rng: random.Random, value_range: tuple[int, int]) -> Any:
    if field.name not in ALWAYS_FILLED and rng.random() < 0.3:
        return None
    if field.picklist_options:
        return rng.choice(field.picklist_options)
    if field.data_type == "NUMERICAL":
        return rng.randint(1, 5)
    if field.data_type == "MONETORY":
        low, high = value_range
        return rng.randrange(low, high, 5_000 if high > 100_000 else 50)
    if field.data_type == "DATE":
        return f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return rng.choice(("Prefers WhatsApp", "Call after 5pm", "Referred by a friend"))


def new_lead(
    state: SandboxState, location: Location, rng: random.Random, serial: int
) -> list[Made]:
    contact = contact_api.create_contact(state, location, lead_data(location, rng, serial))
    made = [{"type": "ContactCreate", "id": contact["id"]}]
    if rng.random() < 0.5:
        topic = rng.choice(vertical_of(location).opportunity_names).lower()
        body = rng.choice(FIRST_MESSAGES).format(topic=topic)
        message = conversation_api.add_message(state, location, contact, "SMS", "inbound", body)
        made.append({"type": "InboundMessage", "id": message["id"]})
    return made


def conversation_turn(state: SandboxState, location: Location, rng: random.Random) -> list[Made]:
    """The next message on an existing conversation: a reply to whoever spoke last."""
    store = location.data.conversations
    if not store.by_id:
        return []
    conversation = store.by_id[rng.choice(list(store.by_id))]
    contact = location.data.contacts.get(conversation["contactId"])
    if contact is None:
        return []
    inbound = conversation.get("lastMessageDirection") != "inbound"
    body = rng.choice(INBOUND_LINES if inbound else OUTBOUND_LINES)
    extra = {"userId": contact["assignedTo"]} if not inbound and contact.get("assignedTo") else {}
    direction = "inbound" if inbound else "outbound"
    message = conversation_api.add_message(
        state, location, contact, "SMS", direction, body, extra or None
    )
    return [{"type": "InboundMessage" if inbound else "OutboundMessage", "id": message["id"]}]


def book_slot(
    state: SandboxState, location: Location, rng: random.Random, contact: Contact | None
) -> list[Made]:
    """An appointment in one of the calendar's next free slots (open hours minus bookings)."""
    calendars = location.data.calendars
    calendar = next(iter(calendars.calendars.values()), None)
    if calendar is None or contact is None:
        return []
    zone = ZoneInfo(location.timezone)
    now = Clock.wall_ms()
    days = free_slots(
        calendar,
        zone,
        calendars.booked(calendar["id"]),
        now + HOUR_MS,
        now + SLOT_WINDOW_MS,
        zone,
        now,
    )
    slots = [slot for day in days.values() for slot in day["slots"]][:20]
    if not slots:
        return []
    appointment = calendar_api.book_appointment(
        state,
        location,
        {
            "calendarId": calendar["id"],
            "contactId": contact["id"],
            "startTime": rng.choice(slots),
            "title": f"{calendar['name']}: {contact.get('name', '')}".strip(),
            "appointmentStatus": "confirmed",
            "source": "booking_widget",
        },
    )
    return [{"type": "AppointmentCreate", "id": appointment["id"]}]


def move_stage(state: SandboxState, location: Location, rng: random.Random) -> list[Made]:
    """An open deal moves one stage on; reaching the last stage wins it."""
    stages = {p["id"]: [s["id"] for s in p["stages"]] for p in location.data.pipelines}
    movable = [
        opp
        for opp in location.data.opportunities.by_id.values()
        if opp["status"] == "open"
        and opp["pipelineStageId"] in stages.get(opp["pipelineId"], [])[:-1]
    ]
    if not movable:
        return []
    opp = rng.choice(movable)
    order = stages[opp["pipelineId"]]
    following = order[order.index(opp["pipelineStageId"]) + 1]
    change: dict[str, Any] = {"pipelineStageId": following}
    if following == order[-1]:
        change["status"] = "won"
    opportunity_api.update_opportunity(state, location, opp, change)
    made = [{"type": "OpportunityStageUpdate", "id": opp["id"]}]
    if "status" in change:
        made.append({"type": "OpportunityStatusUpdate", "id": opp["id"]})
    return made
