"""Booking an appointment from the portal: the location's calendars (listed from GHL, cached
briefly: the mirror does not keep calendars), a day's free slots, and the booking itself, written
to GHL through the governor at interactive priority and mirrored from GHL's answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.ghl import operations as ops
from integrations.ghl.client import GhlClient
from integrations.ghl.errors import GhlError, GhlRateLimited, GhlValidationError
from integrations.ghl.governor import Priority
from integrations.ghl.models import GhlInstallation
from integrations.mirror.models import MirrorAppointment, MirrorContact
from integrations.mirror.writer import mirror_upsert
from integrations.sync.engine import location_installation
from saas_platform.kernel.errors import ApplicationError, NotFound
from tenants.models import Location, User
from tenants.services import audit_record

from .board import INTERACTIVE_WRITE
from .calendar_grid import local_midnight, location_zone

CALENDARS_CACHE_SECONDS = 120
CONTACT_MATCHES = 20
NOT_CONNECTED = _(
    "This business is not connected to its CRM yet, so appointments cannot be booked."
)


@dataclass(frozen=True)
class BookableCalendar:
    ghl_id: str
    name: str
    slot_minutes: int


def _installation(location: Location) -> GhlInstallation:
    installation = location_installation(location)
    if installation is None:
        raise ApplicationError(NOT_CONNECTED)
    return installation


def _reading_failed(exc: GhlError) -> ApplicationError:
    if isinstance(exc, GhlRateLimited):
        return ApplicationError(_("The CRM is busy right now. Please try again in a minute."))
    return ApplicationError(_("The CRM could not be reached. Please try again in a moment."))


def _cache_key(location: Location) -> str:
    return f"portal:calendars:{location.pk}"


def calendars_list(*, location: Location) -> list[BookableCalendar]:
    """The location's active calendars from `GET /calendars/`, cached for two minutes."""
    cached = cache.get(_cache_key(location))
    if cached is not None:
        return [BookableCalendar(**item) for item in cached]
    installation = _installation(location)
    try:
        with GhlClient(
            installation, priority=Priority.INTERACTIVE, policy=INTERACTIVE_WRITE
        ) as ghl:
            answer = ghl.run(ops.calendars(location_id=location.ghl_location_id or ""))
    except GhlError as exc:
        raise _reading_failed(exc) from exc
    found = [
        BookableCalendar(
            ghl_id=str(item["id"]),
            name=str(item.get("name") or "Calendar"),
            slot_minutes=int(item.get("slotDuration") or 30),
        )
        for item in answer.get("calendars") or []
        if isinstance(item, dict) and item.get("id") and item.get("isActive", True) is not False
    ]
    found.sort(key=lambda c: c.name.lower())
    cache.set(_cache_key(location), [c.__dict__ for c in found], CALENDARS_CACHE_SECONDS)
    return found


def calendar_get(*, location: Location, calendar_id: str) -> BookableCalendar:
    for found in calendars_list(location=location):
        if found.ghl_id == calendar_id:
            return found
    raise NotFound(_("No such calendar."))


def free_slots_on(*, location: Location, calendar_id: str, day: date) -> list[datetime]:
    """The calendar's free start times on one local day of the location, in its zone."""
    calendar = calendar_get(location=location, calendar_id=calendar_id)
    zone = location_zone(location)
    start, end = local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)
    operation = ops.calendar_free_slots(
        calendar_id=calendar.ghl_id,
        start_ms=int(start.timestamp() * 1000),
        end_ms=int(end.timestamp() * 1000) - 1,
        timezone=location.timezone,
    )
    try:
        with GhlClient(
            _installation(location), priority=Priority.INTERACTIVE, policy=INTERACTIVE_WRITE
        ) as ghl:
            answer = ghl.run(operation)
    except GhlError as exc:
        raise _reading_failed(exc) from exc
    slots: set[datetime] = set()
    for value in (answer or {}).values():
        if not isinstance(value, dict):
            continue  # GHL adds keys such as traceId beside the dates
        for text in value.get("slots") or []:
            try:
                moment = datetime.fromisoformat(str(text))
            except ValueError:
                continue
            if moment.tzinfo is not None and start <= moment < end:
                slots.add(moment.astimezone(zone))
    now = timezone.now()
    return sorted(s for s in slots if s > now)


def contacts_matching(*, location: Location, query: str) -> list[MirrorContact]:
    query = query.strip()
    if not query:
        return []
    words = Q()
    for word in query.split()[:4]:
        words &= (
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(email__icontains=word)
            | Q(phone__icontains=word)
        )
    found = MirrorContact.objects.for_location(location).filter(words)
    return list(found.order_by("first_name", "last_name", "ghl_id")[:CONTACT_MATCHES])


def contact_get(*, location: Location, ghl_id: str) -> MirrorContact:
    found: MirrorContact | None = (
        MirrorContact.objects.for_location(location).filter(ghl_id=ghl_id).first()
    )
    if found is None:
        raise NotFound(_("No such contact."))
    return found


def _booking_refused(exc: GhlError) -> str:
    if isinstance(exc, GhlValidationError):
        reasons = " ".join(exc.messages).lower()
        if "no longer available" in reasons or "slot" in reasons:
            return _("That time was just taken. Please pick another free time.")
        return _("The CRM refused the booking: ") + "; ".join(exc.messages)
    if isinstance(exc, GhlRateLimited):
        return _("The CRM is busy right now, so nothing was booked. Please try again in a minute.")
    return _("The CRM could not be reached, so nothing was booked. Please try again.")


def appointment_book(
    *,
    location: Location,
    calendar_id: str,
    contact_ghl_id: str,
    start: datetime,
    acting_user: User | None,
) -> MirrorAppointment:
    """Book `start` on the calendar for a contact of the location. The contact and calendar must
    be the location's (else `NotFound`); a past time or GHL's refusal (the slot was taken) is an
    `ApplicationError` and nothing is stored."""
    contact = contact_get(location=location, ghl_id=contact_ghl_id)
    calendar = calendar_get(location=location, calendar_id=calendar_id)
    if start.tzinfo is None:
        raise ApplicationError(_("Pick one of the free times offered."))
    if start <= timezone.now():
        raise ApplicationError(_("That time has already passed. Please pick a later one."))
    operation = ops.appointment_create(
        location_id=location.ghl_location_id or "",
        calendar_id=calendar.ghl_id,
        contact_id=contact.ghl_id,
        start_time=start.isoformat(),
        title=f"{calendar.name}: {contact}",
    )
    try:
        with GhlClient(
            _installation(location), priority=Priority.INTERACTIVE, policy=INTERACTIVE_WRITE
        ) as ghl:
            record: dict[str, Any] = ghl.run(operation)
    except GhlError as exc:
        raise ApplicationError(_booking_refused(exc)) from exc
    with transaction.atomic():
        mirror_upsert(location_id=location.pk, kind="appointment", records=[record])
        appointment: MirrorAppointment = MirrorAppointment.objects.for_location(location).get(
            ghl_id=record["id"]
        )
        audit_record(
            action="appointment.booked",
            target=appointment,
            acting_user=acting_user,
            agency=location.agency,
            location=location,
            changes={"start": (None, start.isoformat()), "contact": (None, contact.ghl_id)},
        )
    return appointment
