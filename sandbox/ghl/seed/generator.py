"""Deterministic seed data: the same seed number yields the same ids, names and values.

Seeding writes straight into the stores (no webhooks) and is built for volume: 100k contacts
load in a few seconds.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.ghl.clock import iso_ms
from sandbox.ghl.ids import new_id, new_uuid
from sandbox.ghl.seed.verticals import EMAIL_DOMAINS, VERTICALS, Vertical
from sandbox.ghl.state import SandboxState
from sandbox.ghl.store import opportunities as opps
from sandbox.ghl.store.calendars import new_appointment
from sandbox.ghl.store.contacts import Contact, refresh_derived
from sandbox.ghl.store.conversations import MESSAGE_TYPES
from sandbox.ghl.store.world import CustomField, Location, User, field_key

# Seeded contacts are dated in the year before this fixed instant so data is reproducible.
EPOCH_END_MS = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)
YEAR_MS = 365 * 86_400_000
INBOUND_LINES = (
    "Hi, is this still available?",
    "Can we schedule a call this week?",
    "Thanks, that works for me.",
    "What are your prices?",
    "Please call me back.",
)
OUTBOUND_LINES = (
    "Thanks for reaching out! When is a good time to talk?",
    "Your appointment is confirmed.",
    "Just following up on your enquiry.",
    "Here are the details you asked for.",
)


def _rng(seed: int, location_id: str, purpose: str) -> random.Random:
    return random.Random(f"{seed}:{location_id}:{purpose}")


def vertical_of(location: Location) -> Vertical:
    return VERTICALS.get(location.vertical, VERTICALS["generic"])


def ensure_structure(state: SandboxState, location: Location, seed: int, users: int = 0) -> None:
    """Users, custom fields, a pipeline and a calendar, created once per location."""
    vertical = vertical_of(location)
    rng = _rng(seed, location.id, "structure")
    world = state.world
    agents = [u for u in world.location_users(location.id) if u.role_type == "account"]
    if not agents:
        for index in range(users or 2):
            first, last = rng.choice(vertical.first_names), rng.choice(vertical.last_names)
            world.add_user(
                User(
                    id=new_id(rng),
                    company_id=location.company_id,
                    first_name=first,
                    last_name=last,
                    email=f"{first}.{last}.{index}@team.example.com".lower().replace(" ", ""),
                    phone=_phone(location, vertical, rng.randrange(10**7)),
                    role="admin" if index == 0 else "user",
                    location_ids=[location.id],
                )
            )
    data = location.data
    if not data.custom_fields:
        for position, (name, data_type, options) in enumerate(vertical.custom_fields):
            field = CustomField(
                id=new_id(rng),
                location_id=location.id,
                name=name,
                field_key=field_key("contact", name),
                data_type=data_type,
                position=position * 50,
                picklist_options=list(options),
            )
            data.custom_fields[field.id] = field
            world.claim("customField", field.id, location.id)
    if not data.pipelines:
        name, stages = vertical.pipeline
        pipeline_id = new_id(rng)
        data.pipelines.append(
            {
                "id": pipeline_id,
                "name": name,
                "locationId": location.id,
                "showInFunnel": True,
                "showInPieChart": True,
                "colorRenderMode": "dot",
                "stages": [
                    {
                        "id": new_uuid(rng),
                        "name": stage,
                        "position": i,
                        "showInFunnel": True,
                        "showInPieChart": True,
                    }
                    for i, stage in enumerate(stages)
                ],
            }
        )
        world.claim("pipeline", pipeline_id, location.id)
    if not data.calendars.calendars:
        cal_name, minutes, weekdays, opens, closes = vertical.calendar
        calendar_id = new_id(rng)
        members = [u for u in world.location_users(location.id) if u.role_type == "account"]
        data.calendars.add_calendar(
            {
                "id": calendar_id,
                "locationId": location.id,
                "name": cal_name,
                "description": f"{cal_name} for {location.name}",
                "slug": cal_name.lower().replace(" ", "-"),
                "widgetSlug": cal_name.lower().replace(" ", "-"),
                "calendarType": "round_robin" if len(members) > 1 else "personal",
                "widgetType": "classic",
                "eventTitle": "{{contact.name}} - " + cal_name,
                "teamMembers": [
                    {"userId": u.id, "priority": 0.5, "isPrimary": i == 0}
                    for i, u in enumerate(members)
                ],
                "slotDuration": minutes,
                "slotDurationUnit": "mins",
                "slotInterval": minutes,
                "slotIntervalUnit": "mins",
                "slotBuffer": 0,
                "preBuffer": 0,
                "appoinmentPerSlot": 1,
                "appoinmentPerDay": 0,
                "openHours": [
                    {
                        "daysOfTheWeek": list(weekdays),
                        "hours": [
                            {
                                "openHour": opens,
                                "openMinute": 0,
                                "closeHour": closes,
                                "closeMinute": 0,
                            }
                        ],
                    }
                ],
                "autoConfirm": True,
                "allowReschedule": True,
                "allowCancellation": True,
                "isActive": True,
            }
        )
        world.claim("calendar", calendar_id, location.id)


def _phone(location: Location, vertical: Vertical, n: int) -> str:
    prefix = vertical.area_codes[n % len(vertical.area_codes)]
    # A multiplicative scramble keeps numbers unique per index without looking sequential.
    digits = f"{(n * 7_919_669 + 4_093_817) % 10_000_000:07d}"
    if location.country == "GB":
        digits = digits[1:]
    return f"+{location.calling_code}{prefix}{digits}"


def seed_contacts(state: SandboxState, location: Location, count: int, seed: int) -> list[Contact]:
    vertical = vertical_of(location)
    rng = _rng(seed, location.id, "contacts")
    offset = len(location.data.contacts)
    fields = list(location.data.custom_fields.values())
    users = [u.id for u in state.world.location_users(location.id) if u.role_type == "account"]
    start = EPOCH_END_MS - YEAR_MS
    step = max(1, YEAR_MS // max(count, 1))
    rows: list[tuple[Contact, int]] = []
    firsts, lasts, areas = vertical.first_names, vertical.last_names, vertical.areas
    sources, tags = vertical.sources, vertical.tags
    random_ = rng.random

    def pick(pool: Sequence[Any]) -> Any:
        return pool[int(random_() * len(pool))]

    for i in range(count):
        n = offset + i
        first, last = pick(firsts), pick(lasts)
        city, region, postal = pick(areas)
        added = start + i * step + int(random_() * step)
        local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
        stamp = iso_ms(added)
        contact: Contact = {
            "id": new_id(rng),
            "locationId": location.id,
            "firstName": first,
            "lastName": last,
            "email": f"{local}{n}@{EMAIL_DOMAINS[n % len(EMAIL_DOMAINS)]}",
            "phone": _phone(location, vertical, n),
            "address1": f"{int(random_() * 998) + 1} {city}",
            "city": city,
            "state": region,
            "country": location.country,
            "postalCode": postal,
            "timezone": location.timezone,
            "source": pick(sources),
            "type": "lead",
            "dnd": random_() < 0.03,
            "tags": list(dict.fromkeys(pick(tags) for _ in range(int(random_() * 4)))),
            "customFields": _custom_values(rng, fields, vertical),
            "dateAdded": stamp,
            "dateUpdated": stamp,
        }
        if users and random_() < 0.7:
            contact["assignedTo"] = pick(users)
        refresh_derived(contact)
        rows.append((contact, added))
    location.data.contacts.bulk_load(rows)
    claim = state.world.owner
    for contact, _ in rows:
        claim[contact["id"]] = ("contact", location.id)
    return [c for c, _ in rows]


def _custom_values(rng: random.Random, fields: list[CustomField], vertical: Vertical) -> list[Any]:
    out: list[dict[str, Any]] = []
    for field in fields:
        if rng.random() < 0.4:
            continue
        if field.picklist_options:
            value: Any = rng.choice(field.picklist_options)
        elif field.data_type in ("NUMERICAL",):
            value = rng.randint(1, 6)
        elif field.data_type == "MONETORY":
            low, high = vertical.value_range
            value = rng.randrange(low, high, 5_000 if high > 100_000 else 50)
        elif field.data_type == "DATE":
            value = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        else:
            value = rng.choice(("Dr. Reyes", "Dr. Okafor", "Follow-up needed", "Prefers email"))
        out.append({"id": field.id, "value": value})
    return out


def seed_opportunities(state: SandboxState, location: Location, count: int, seed: int) -> int:
    vertical, data = vertical_of(location), location.data
    rng = _rng(seed, location.id, "opportunities")
    contacts = list(data.contacts.by_id.values())
    if not contacts or not data.pipelines:
        return 0
    pipeline = data.pipelines[0]
    taken = {o["contactId"] for o in data.opportunities.by_id.values()}
    candidates = [c for c in contacts if c["id"] not in taken]
    created = 0
    for contact in rng.sample(candidates, min(count, len(candidates))):
        stage = rng.choice(pipeline["stages"])
        status = (
            "won"
            if stage is pipeline["stages"][-1]
            else rng.choices(("open", "lost", "abandoned"), (85, 10, 5))[0]
        )
        at = data.contacts.added_ms[contact["id"]] + rng.randint(0, 5 * 86_400_000)
        opp = opps.new_opportunity(
            new_id(rng),
            location.id,
            {
                "name": f"{contact.get('name', 'Lead')} - {rng.choice(vertical.opportunity_names)}",
                "pipelineId": pipeline["id"],
                "pipelineStageId": stage["id"],
                "status": status,
                "contactId": contact["id"],
                "monetaryValue": rng.randrange(*vertical.value_range),
                "assignedTo": contact.get("assignedTo"),
                "source": contact.get("source"),
            },
            at,
        )
        data.opportunities.add(opp, at)
        state.world.claim("opportunity", opp["id"], location.id)
        created += 1
    return created


def seed_appointments(state: SandboxState, location: Location, count: int, seed: int) -> int:
    data = location.data
    rng = _rng(seed, location.id, "appointments")
    calendar = next(iter(data.calendars.calendars.values()), None)
    contacts = list(data.contacts.by_id.values())
    if calendar is None or not contacts:
        return 0
    tz = ZoneInfo(location.timezone)
    rule = calendar["openHours"][0]
    hours = rule["hours"][0]
    minutes = int(calendar["slotDuration"])
    today = datetime.now(tz).date()
    # Candidate slots from two weeks ago to four weeks ahead; each used at most once.
    slots = []
    for day_offset in range(-14, 28):
        day = today + timedelta(days=day_offset)
        if (day.weekday() + 1) % 7 not in rule["daysOfTheWeek"]:
            continue
        moment = datetime(day.year, day.month, day.day, hours["openHour"], 0, tzinfo=tz)
        close = datetime(day.year, day.month, day.day, hours["closeHour"], 0, tzinfo=tz)
        while moment + timedelta(minutes=minutes) <= close:
            slots.append(int(moment.timestamp() * 1000))
            moment += timedelta(minutes=minutes)
    booked = 0
    for start in sorted(rng.sample(slots, min(count, len(slots)))):
        contact = rng.choice(contacts)
        status = "showed" if start < state.clock.wall_ms() else "confirmed"
        appt = new_appointment(
            new_id(rng),
            calendar,
            {
                "contactId": contact["id"],
                "appointmentStatus": status,
                "title": f"{calendar['name']}: {contact.get('name', '')}",
                "source": "booking_widget",
            },
            start,
            start + minutes * 60_000,
            tz,
            start - 3 * 86_400_000,
        )
        data.calendars.add_appointment(appt, start, start + minutes * 60_000)
        state.world.claim("appointment", appt["id"], location.id)
        booked += 1
    return booked


def seed_conversations(state: SandboxState, location: Location, count: int, seed: int) -> int:
    data = location.data
    rng = _rng(seed, location.id, "conversations")
    contacts = [
        c
        for c in data.contacts.by_id.values()
        if c.get("phone") and c["id"] not in data.conversations.by_contact
    ]
    made = 0
    for contact in rng.sample(contacts, min(count, len(contacts))):
        at = data.contacts.added_ms[contact["id"]]
        conversation = {
            "id": new_id(rng),
            "contactId": contact["id"],
            "locationId": location.id,
            "dateAdded": at,
            "dateUpdated": at,
            "lastMessageDate": at,
            "lastMessageBody": "",
            "lastMessageType": "TYPE_SMS",
            "type": "TYPE_PHONE",
            "unreadCount": 0,
            "deleted": False,
        }
        data.conversations.add(conversation, at)
        state.world.claim("conversation", conversation["id"], location.id)
        code, name = MESSAGE_TYPES["SMS"]
        for turn in range(rng.randint(1, 5)):
            at += rng.randint(60_000, 86_400_000)
            inbound = turn % 2 == 0
            message = {
                "id": new_id(rng),
                "type": code,
                "messageType": name,
                "locationId": location.id,
                "contactId": contact["id"],
                "conversationId": conversation["id"],
                "dateAdded": iso_ms(at),
                "direction": "inbound" if inbound else "outbound",
                "body": rng.choice(INBOUND_LINES if inbound else OUTBOUND_LINES),
                "status": "delivered",
                "contentType": "text/plain",
                "attachments": [],
                "source": "app",
            }
            data.conversations.add_message(message, at)
            state.world.claim("message", message["id"], location.id)
        made += 1
    return made


def seed_location(
    state: SandboxState,
    location: Location,
    *,
    seed: int,
    contacts: int = 0,
    opportunities: int = 0,
    appointments: int = 0,
    conversations: int = 0,
    users: int = 0,
) -> dict[str, int]:
    ensure_structure(state, location, seed, users)
    # Bulk creation of long-lived dicts makes the cyclic GC rescan ever larger generations;
    # pausing it roughly halves the time to seed 100k contacts.
    gc.disable()
    try:
        made = seed_contacts(state, location, contacts, seed) if contacts else []
    finally:
        gc.enable()
    return {
        "contacts": len(made),
        "opportunities": seed_opportunities(state, location, opportunities, seed),
        "appointments": seed_appointments(state, location, appointments, seed),
        "conversations": seed_conversations(state, location, conversations, seed),
    }
