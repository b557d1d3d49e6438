"""GHL data events applied to the mirror (registered as inbox handlers when the app is ready).

Every contact, opportunity and appointment event carries the whole record, so a burst of events
about one record is coalesced (only the newest is applied) and applying one twice changes nothing:
the writer keeps the newest version by GHL's change time and ignores identical rewrites. A delete
leaves a tombstone so a late update of the deleted record is ignored.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db import transaction
from django.utils import timezone

from integrations.ghl.models import GhlInstallation
from integrations.inbox.batch import register_batch
from integrations.inbox.models import InboundEvent
from integrations.inbox.services import RetryLater, Unprocessable, register
from integrations.mirror.mapping import InvalidRecordsError
from integrations.mirror.writer import mirror_delete as _mirror_delete
from integrations.mirror.writer import mirror_upsert as _mirror_upsert
from tenants.models import Location

from .signals import lead_arrived
from .won import opportunity_won_publish

GHL = InboundEvent.Source.GHL
CONTACT_EVENTS = ("ContactCreate", "ContactUpdate", "ContactTagUpdate", "ContactDndUpdate")
OPPORTUNITY_EVENTS = (
    "OpportunityCreate",
    "OpportunityUpdate",
    "OpportunityStageUpdate",
    "OpportunityStatusUpdate",
    "OpportunityMonetaryValueUpdate",
    "OpportunityAssignedToUpdate",
)
# A won opportunity is announced (for payment automations) from these; other updates of an
# already won opportunity (its value, its owner) are not a new win.
WON_EVENTS = ("OpportunityCreate", "OpportunityStatusUpdate")
APPOINTMENT_EVENTS = ("AppointmentCreate", "AppointmentUpdate")
MESSAGE_EVENTS = ("InboundMessage", "OutboundMessage")


def _location_ghl_id(event: InboundEvent, payload: dict[str, Any]) -> str:
    return str(payload.get("locationId") or event.location_id or "")


def _location(event: InboundEvent, payload: dict[str, Any]) -> Location | None:
    """The mirror's location for the event; None when the app is not installed there."""
    ghl_id = _location_ghl_id(event, payload)
    location: Location | None = Location.objects.unscoped().filter(ghl_location_id=ghl_id).first()
    if location is not None:
        return location
    if GhlInstallation.objects.unscoped().filter(ghl_location_id=ghl_id).exists():
        raise RetryLater(f"location {ghl_id} is being installed")
    return None


def mirror_upsert(**kwargs: Any) -> Any:
    """The writer, with a malformed record made a dead letter instead of retried for nothing."""
    try:
        return _mirror_upsert(**kwargs)
    except InvalidRecordsError as exc:
        raise Unprocessable(str(exc)) from exc


def mirror_delete(**kwargs: Any) -> int:
    try:
        return int(_mirror_delete(**kwargs))
    except (InvalidRecordsError, KeyError) as exc:
        raise Unprocessable(str(exc)) from exc


def _when(event: InboundEvent) -> Any:
    return event.occurred_at or event.received_at or timezone.now()


@register(GHL, *CONTACT_EVENTS, "ContactDelete", coalesce=True)
def contact_event(event: InboundEvent, payload: dict[str, Any]) -> str:
    location = _location(event, payload)
    if location is None:
        return "ignored: the app is not installed on this location"
    with transaction.atomic():
        if event.event_type == "ContactDelete":
            removed = mirror_delete(
                location_id=location.pk,
                kind="contact",
                ghl_ids=[str(payload["id"])],
                deleted_at=_when(event),
            )
            return f"deleted {removed}"
        result = mirror_upsert(
            location_id=location.pk, kind="contact", records=[payload], changed_at=_when(event)
        )
        _leads_arrived(location, [(event, payload)], result.inserted_ids)
    return _outcome(result)


@register_batch(GHL, *CONTACT_EVENTS)
def contact_events(pairs: list[tuple[InboundEvent, dict[str, Any]]]) -> set[int]:
    """`contact_event` for a drain's chunk: one location lookup, and per location one write of
    all its records (each with its event's time) and one signal for its leads. Locations are
    written in id order, so concurrent batches lock in the same order. Events of a location not
    found are left to `contact_event` (ignored, or retried while it is being installed)."""
    wanted = {_location_ghl_id(event, payload) for event, payload in pairs}
    locations = {
        location.ghl_location_id: location
        for location in Location.objects.unscoped().filter(ghl_location_id__in=wanted)
    }
    by_location: dict[int, list[tuple[InboundEvent, dict[str, Any]]]] = defaultdict(list)
    for event, payload in pairs:
        if (location := locations.get(_location_ghl_id(event, payload))) is not None:
            by_location[location.pk].append((event, payload))
    by_pk = {location.pk: location for location in locations.values()}
    done: set[int] = set()
    for location_pk in sorted(by_location):
        location, group = by_pk[location_pk], by_location[location_pk]
        result = mirror_upsert(
            location_id=location.pk,
            kind="contact",
            records=[payload for _, payload in group],
            changed_at=[_when(event) for event, _ in group],
        )
        _leads_arrived(location, group, result.inserted_ids)
        done.update(event.pk for event, _ in group)
    return done


def _leads_arrived(
    location: Location, pairs: list[tuple[InboundEvent, dict[str, Any]]], inserted: frozenset[str]
) -> None:
    """Within the write's transaction, so a lead is queued exactly when its contact is stored.
    A ContactCreate may have been superseded by a newer update of the same contact, so a contact
    new to the mirror is a lead too (routing is idempotent per contact)."""
    leads = [
        str(payload["id"])
        for event, payload in pairs
        if event.event_type == "ContactCreate" or str(payload["id"]) in inserted
    ]
    if leads:
        lead_arrived.send(Location, location=location, contact_ghl_ids=leads)


@register(GHL, *OPPORTUNITY_EVENTS, "OpportunityDelete", coalesce=True)
def opportunity_event(event: InboundEvent, payload: dict[str, Any]) -> str:
    location = _location(event, payload)
    if location is None:
        return "ignored: the app is not installed on this location"
    with transaction.atomic():
        if event.event_type == "OpportunityDelete":
            removed = mirror_delete(
                location_id=location.pk,
                kind="opportunity",
                ghl_ids=[str(payload["id"])],
                deleted_at=_when(event),
            )
            return f"deleted {removed}"
        # Webhooks name the creation time `dateAdded`; the API says `createdAt`.
        record = {"createdAt": payload.get("dateAdded"), **payload}
        result = mirror_upsert(
            location_id=location.pk, kind="opportunity", records=[record], changed_at=_when(event)
        )
        if event.event_type in WON_EVENTS and payload.get("status") == "won" and not result.stale:
            # Billing's payment automations act on it (duplicates included: they bill once).
            opportunity_won_publish(location=location, payload=payload)
    return _outcome(result)


@register(GHL, *APPOINTMENT_EVENTS, "AppointmentDelete", coalesce=True)
def appointment_event(event: InboundEvent, payload: dict[str, Any]) -> str:
    location = _location(event, payload)
    record = payload.get("appointment")
    if location is None or not isinstance(record, dict):
        return "ignored: no appointment or the app is not installed on this location"
    with transaction.atomic():
        if event.event_type == "AppointmentDelete":
            removed = mirror_delete(
                location_id=location.pk,
                kind="appointment",
                ghl_ids=[str(record["id"])],
                deleted_at=_when(event),
            )
            return f"deleted {removed}"
        result = mirror_upsert(
            location_id=location.pk, kind="appointment", records=[record], changed_at=_when(event)
        )
    return _outcome(result)


@register(GHL, *MESSAGE_EVENTS)
def message_event(event: InboundEvent, payload: dict[str, Any]) -> str:
    """Message metadata (never the text) and its conversation's latest activity."""
    location = _location(event, payload)
    if location is None:
        return "ignored: the app is not installed on this location"
    message = {
        "id": payload.get("messageId"),
        "conversationId": payload.get("conversationId"),
        "contactId": payload.get("contactId"),
        "messageType": payload.get("messageType"),
        "direction": payload.get("direction"),
        "status": payload.get("status"),
        "userId": payload.get("userId"),
        "dateAdded": payload.get("dateAdded"),
    }
    conversation = {
        "id": payload.get("conversationId"),
        "contactId": payload.get("contactId"),
        "lastMessageType": payload.get("messageType"),
        "lastMessageDate": payload.get("dateAdded"),
        "dateUpdated": payload.get("dateAdded"),
    }
    with transaction.atomic():
        result = mirror_upsert(
            location_id=location.pk, kind="message", records=[message], changed_at=_when(event)
        )
        if conversation["id"]:
            mirror_upsert(
                location_id=location.pk,
                kind="conversation",
                records=[conversation],
                changed_at=_when(event),
            )
    return _outcome(result)


@register(GHL, "UserCreate", "UserUpdate")
def user_event(event: InboundEvent, payload: dict[str, Any]) -> str:
    location = _location(event, payload)
    if location is None:
        return "ignored: not a location user or the app is not installed there"
    with transaction.atomic():
        result = mirror_upsert(
            location_id=location.pk, kind="user", records=[payload], changed_at=_when(event)
        )
    return _outcome(result)


def _outcome(result: Any) -> str:
    return (
        f"inserted {result.inserted}, updated {result.updated}, unchanged {result.unchanged}, "
        f"stale {result.stale}"
    )
