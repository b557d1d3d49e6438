"""Booking from GHL's free slots, end to end on the stand-in: calendars listed through our client,
a day's free times, the booking written to GHL and mirrored; a taken slot stores nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from django.test import Client
from django.utils import timezone

from integrations.ghl.models import GhlCallLog
from integrations.mirror.models import MirrorAppointment, MirrorContact
from integrations.portal import booking, calendar_grid
from sandbox.ghl.testing import StandIn
from tenants.models import AuditLogEntry, Location
from tests import factories
from tests.conftest import World
from tests.integrations.conftest import DUBAI

pytestmark = pytest.mark.django_db


def _book_url(location: Location) -> str:
    return f"/app/l/{location.pk}/appointments/book/"


def _a_day_with_slots(location: Location, calendar_id: str) -> tuple[date, list[datetime]]:
    day = timezone.now().astimezone(calendar_grid.location_zone(location)).date()
    for offset in range(1, 10):
        slots = booking.free_slots_on(
            location=location, calendar_id=calendar_id, day=day + timedelta(days=offset)
        )
        if slots:
            return day + timedelta(days=offset), slots
    raise AssertionError("the demo calendar has no free slot in the coming days")


def _ghl_events(ghl: StandIn, calendar_id: str, start: datetime) -> list[dict[str, Any]]:
    token = ghl.mint_token(location_id=DUBAI)["access_token"]
    path = "/calendars/events"
    params = {
        "locationId": DUBAI,
        "calendarId": calendar_id,
        "startTime": int(start.timestamp() * 1000) - 1,
        "endTime": int(start.timestamp() * 1000) + 60_000,
    }
    answer = httpx.get(
        ghl.base_url + path, params=params, headers=ghl.api_headers(token, path), timeout=30
    )
    answer.raise_for_status()
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


def test_booking_a_free_slot_writes_it_to_ghl_and_mirrors_it(
    dubai: Location, ghl: StandIn, dubai_member: Client
) -> None:
    calendar = booking.calendars_list(location=dubai)[0]
    day, slots = _a_day_with_slots(dubai, calendar.ghl_id)
    contact = MirrorContact.objects.for_location(dubai).exclude(first_name="").first()
    assert contact is not None

    form = dubai_member.get(
        _book_url(dubai),
        {"calendar": calendar.ghl_id, "date": day.isoformat(), "q": contact.first_name},
    ).content.decode()
    assert calendar.name in form and slots[0].isoformat() in form and contact.ghl_id in form

    answer = dubai_member.post(
        _book_url(dubai),
        {"calendar": calendar.ghl_id, "slot": slots[0].isoformat(), "contact": contact.ghl_id},
    )

    assert answer.status_code == 302 and f"date={day.isoformat()}" in answer["Location"]
    [event] = _ghl_events(ghl, calendar.ghl_id, slots[0])
    assert event["contactId"] == contact.ghl_id
    mirrored = MirrorAppointment.objects.for_location(dubai).get(ghl_id=event["id"])
    assert (mirrored.start_time, mirrored.contact_ghl_id) == (slots[0], contact.ghl_id)
    booked = GhlCallLog.objects.for_agency(dubai.agency).get(
        method="POST", path="/calendars/events/appointments"
    )
    assert (booked.status, booked.priority) == (200, "interactive")
    assert (
        AuditLogEntry.objects.for_agency(dubai.agency)
        .filter(action="appointment.booked", target_id=str(mirrored.pk))
        .exists()
    )
    week = dubai_member.get(answer["Location"]).content.decode()
    assert "Booked for" in week and event["id"] in week
    # The slot is gone from the free times now.
    assert slots[0] not in booking.free_slots_on(
        location=dubai, calendar_id=calendar.ghl_id, day=day
    )


def test_a_slot_taken_meanwhile_is_refused_and_nothing_is_stored(
    dubai: Location, ghl: StandIn, dubai_member: Client
) -> None:
    calendar = booking.calendars_list(location=dubai)[0]
    _day, slots = _a_day_with_slots(dubai, calendar.ghl_id)
    contacts = list(MirrorContact.objects.for_location(dubai).order_by("ghl_id")[:2])
    booking.appointment_book(
        location=dubai,
        calendar_id=calendar.ghl_id,
        contact_ghl_id=contacts[0].ghl_id,
        start=slots[0],
        acting_user=None,
    )
    stored = MirrorAppointment.objects.for_location(dubai).count()

    answer = dubai_member.post(
        _book_url(dubai),
        {"calendar": calendar.ghl_id, "slot": slots[0].isoformat(), "contact": contacts[1].ghl_id},
    )

    assert answer.status_code == 200
    assert "That time was just taken" in answer.content.decode()
    assert MirrorAppointment.objects.for_location(dubai).count() == stored
    assert len(_ghl_events(ghl, calendar.ghl_id, slots[0])) == 1


def test_calendars_are_cached_briefly(dubai: Location, ghl: StandIn) -> None:
    first = booking.calendars_list(location=dubai)
    listed = [r for r in ghl.requests(DUBAI) if r["path"] == "/calendars/"]
    assert booking.calendars_list(location=dubai) == first
    assert [r for r in ghl.requests(DUBAI) if r["path"] == "/calendars/"] == listed


def test_another_locations_contact_or_an_unknown_calendar_is_not_found(
    dubai: Location, ghl: StandIn, dubai_member: Client, world: World
) -> None:
    calendar = booking.calendars_list(location=dubai)[0]
    _day, slots = _a_day_with_slots(dubai, calendar.ghl_id)
    own = MirrorContact.objects.for_location(dubai).first()
    assert own is not None
    foreign = factories.MirrorContactFactory(location=world.a.locations[0])
    cases = [
        {"calendar": calendar.ghl_id, "slot": slots[0].isoformat(), "contact": foreign.ghl_id},
        {"calendar": "NoSuchCalendar00001", "slot": slots[0].isoformat(), "contact": own.ghl_id},
    ]
    for data in cases:
        assert dubai_member.post(_book_url(dubai), data).status_code == 404
    assert (
        dubai_member.get(_book_url(dubai), {"calendar": "NoSuchCalendar00001"}).status_code == 404
    )
    assert not _ghl_events(ghl, calendar.ghl_id, slots[0])


def test_a_past_or_malformed_time_is_refused_with_a_message(
    dubai: Location, ghl: StandIn, dubai_member: Client
) -> None:
    calendar = booking.calendars_list(location=dubai)[0]
    own = MirrorContact.objects.for_location(dubai).first()
    assert own is not None
    past = (timezone.now() - timedelta(hours=2)).isoformat()
    for slot, message in [(past, "already passed"), ("tomorrow", "Pick one of the free times")]:
        answer = dubai_member.post(
            _book_url(dubai), {"calendar": calendar.ghl_id, "slot": slot, "contact": own.ghl_id}
        )
        assert message in answer.content.decode()


def test_without_a_crm_connection_the_page_says_so(world: World, agency_client: Any) -> None:
    client = agency_client(world.a, world.a.client_admin)
    page = client.get(_book_url(world.a.locations[0])).content.decode()
    assert "not connected to its CRM" in page
