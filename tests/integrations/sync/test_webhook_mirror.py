"""GHL's data events, exactly as the stand-in signs and sends them, applied to the mirror."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.test import Client

from integrations.inbox.models import InboundEvent
from integrations.inbox.services import inbound_event_process, inbound_events_drain
from integrations.mirror.models import (
    MirrorAppointment,
    MirrorContact,
    MirrorConversation,
    MirrorMessage,
    MirrorOpportunity,
    MirrorTombstone,
)
from integrations.privacy import contact_erase
from saas_platform.kernel.errors import ApplicationError
from sandbox.ghl.testing import StandIn
from tenants.models import AuditLogEntry, Location
from tests.integrations.conftest import DUBAI

pytestmark = pytest.mark.django_db


def deliveries(ghl: StandIn, kind: str) -> list[dict[str, Any]]:
    return ghl.wait_for_webhooks(1, type=kind)


def forward(delivery: dict[str, Any], capture: Any, *, process: bool = True) -> Any:
    """POST what the stand-in sent to our endpoint, byte for byte, with its signatures."""
    headers = {
        f"HTTP_{name.upper().replace('-', '_')}": value
        for name, value in delivery["headers"].items()
        if name.lower().startswith("x-")
    }
    with capture(execute=process):
        return Client(HTTP_HOST="localhost").post(
            "/integrations/ghl/webhooks",
            delivery["body"].encode(),
            content_type="application/json",
            **headers,
        )


def api(ghl: StandIn, method: str, path: str, **kw: Any) -> Any:
    token = ghl.mint_token(location_id=DUBAI)["access_token"]
    response = httpx.request(
        method, ghl.base_url + path, headers=ghl.api_headers(token, path), timeout=30, **kw
    )
    response.raise_for_status()
    return response.json() if response.content else None


def test_a_new_lead_in_ghl_reaches_the_mirror(
    dubai: Location, ghl: StandIn, django_capture_on_commit_callbacks: Any
) -> None:
    ghl.trigger_event("ContactCreate", DUBAI, {"firstName": "Noor", "email": "noor@lead.test"})
    response = forward(deliveries(ghl, "ContactCreate")[-1], django_capture_on_commit_callbacks)
    assert response.json() == {"status": "accepted"}
    contact = MirrorContact.objects.for_location(dubai).get(email="noor@lead.test")
    assert contact.first_name == "Noor"
    assert InboundEvent.objects.get(event_type="ContactCreate").status == "succeeded"


def test_an_older_update_never_overwrites_a_newer_one(
    dubai: Location, ghl: StandIn, django_capture_on_commit_callbacks: Any
) -> None:
    target = MirrorContact.objects.for_location(dubai).order_by("ghl_id").first()
    assert target is not None
    for name in ("First", "Second"):
        api(ghl, "PUT", f"/contacts/{target.ghl_id}", json={"firstName": name})
    first, second = ghl.wait_for_webhooks(2, type="ContactUpdate")[-2:]
    forward(second, django_capture_on_commit_callbacks)
    forward(first, django_capture_on_commit_callbacks)  # arrives late
    target.refresh_from_db()
    assert target.first_name == "Second"


def test_a_burst_about_one_contact_is_coalesced(
    dubai: Location, ghl: StandIn, django_capture_on_commit_callbacks: Any
) -> None:
    target = MirrorContact.objects.for_location(dubai).order_by("ghl_id").first()
    assert target is not None
    for n in range(5):
        api(ghl, "PUT", f"/contacts/{target.ghl_id}", json={"lastName": f"Version {n}"})
    sent = ghl.wait_for_webhooks(5, type="ContactUpdate")[-5:]
    for delivery in sent:  # stored, not processed yet: a backlog
        forward(delivery, django_capture_on_commit_callbacks, process=False)
    events = list(InboundEvent.objects.filter(event_type="ContactUpdate").order_by("id"))
    outcomes = [inbound_event_process(event_pk=e.pk) for e in events]
    assert outcomes == ["superseded"] * 4 + ["succeeded"]
    target.refresh_from_db()
    assert target.last_name == "Version 4"


def test_a_drain_takes_the_whole_backlog_in_order_and_still_coalesces(
    dubai: Location, ghl: StandIn, django_capture_on_commit_callbacks: Any
) -> None:
    contacts = list(MirrorContact.objects.for_location(dubai).order_by("ghl_id")[:2])
    for contact in contacts:
        for n in range(3):
            api(ghl, "PUT", f"/contacts/{contact.ghl_id}", json={"lastName": f"V{n}"})
    for delivery in ghl.wait_for_webhooks(6, type="ContactUpdate")[-6:]:
        forward(delivery, django_capture_on_commit_callbacks, process=False)
    # Two claims (4 rows, then 2) take all six; only the newest of each contact is applied.
    assert inbound_events_drain(batch=4) == 6
    statuses = list(
        InboundEvent.objects.filter(event_type="ContactUpdate")
        .order_by("received_at", "id")
        .values_list("status", "attempts")
    )
    assert sorted(statuses) == [("succeeded", 1)] * 2 + [("superseded", 1)] * 4
    for contact in contacts:
        contact.refresh_from_db()
        assert contact.last_name == "V2"
    assert inbound_events_drain() == 0  # nothing pending: nothing claimed twice


def test_a_deleted_contact_stays_deleted(
    dubai: Location, ghl: StandIn, django_capture_on_commit_callbacks: Any
) -> None:
    target = MirrorContact.objects.for_location(dubai).order_by("ghl_id").first()
    assert target is not None
    api(ghl, "PUT", f"/contacts/{target.ghl_id}", json={"firstName": "Before delete"})
    update = ghl.wait_for_webhooks(1, type="ContactUpdate")[-1]
    api(ghl, "DELETE", f"/contacts/{target.ghl_id}")
    forward(ghl.wait_for_webhooks(1, type="ContactDelete")[-1], django_capture_on_commit_callbacks)
    assert not MirrorContact.objects.for_location(dubai).filter(ghl_id=target.ghl_id).exists()
    forward(update, django_capture_on_commit_callbacks)  # the update arrives after the delete
    assert not MirrorContact.objects.for_location(dubai).filter(ghl_id=target.ghl_id).exists()
    assert MirrorTombstone.objects.for_location(dubai).filter(ghl_id=target.ghl_id).exists()


def test_opportunity_appointment_and_message_events(
    dubai: Location, ghl: StandIn, django_capture_on_commit_callbacks: Any
) -> None:
    opportunity = MirrorOpportunity.objects.for_location(dubai).order_by("ghl_id").first()
    assert opportunity is not None
    pipelines = api(ghl, "GET", "/opportunities/pipelines", params={"locationId": DUBAI})
    stage = next(
        s["id"]
        for p in pipelines["pipelines"]
        if p["id"] == opportunity.pipeline_ghl_id
        for s in p["stages"]
        if s["id"] != opportunity.stage_ghl_id
    )
    api(ghl, "PUT", f"/opportunities/{opportunity.ghl_id}", json={"pipelineStageId": stage})
    forward(
        ghl.wait_for_webhooks(1, type="OpportunityStageUpdate")[-1],
        django_capture_on_commit_callbacks,
    )
    opportunity.refresh_from_db()
    assert opportunity.stage_ghl_id == stage

    contact = MirrorContact.objects.for_location(dubai).exclude(phone="").first()
    assert contact is not None
    ghl.trigger_event(
        "InboundMessage", DUBAI, {"contactId": contact.ghl_id, "body": "Is the villa free?"}
    )
    forward(ghl.wait_for_webhooks(1, type="InboundMessage")[-1], django_capture_on_commit_callbacks)
    message = MirrorMessage.objects.for_location(dubai).get(contact_ghl_id=contact.ghl_id)
    assert message.direction == "inbound"
    assert (
        MirrorConversation.objects.for_location(dubai)
        .filter(ghl_id=message.conversation_ghl_id)
        .exists()
    )
    # The mirror keeps who, when and which way — never the text.
    assert "villa" not in str(MirrorMessage.objects.for_location(dubai).values())

    calendars = api(ghl, "GET", "/calendars/", params={"locationId": DUBAI})["calendars"]
    free = api(
        ghl,
        "GET",
        f"/calendars/{calendars[0]['id']}/free-slots",
        params={
            "startDate": int((dubai.created_at + timedelta(days=2)).timestamp() * 1000),
            "endDate": int((dubai.created_at + timedelta(days=9)).timestamp() * 1000),
        },
    )
    slot = next(s for day in free.values() if isinstance(day, dict) for s in day["slots"])
    booked = api(
        ghl,
        "POST",
        "/calendars/events/appointments",
        json={
            "calendarId": calendars[0]["id"],
            "locationId": DUBAI,
            "contactId": contact.ghl_id,
            "startTime": slot,
        },
    )
    forward(
        ghl.wait_for_webhooks(1, type="AppointmentCreate")[-1], django_capture_on_commit_callbacks
    )
    assert MirrorAppointment.objects.for_location(dubai).filter(ghl_id=booked["id"]).exists()


def test_events_of_locations_we_do_not_serve_are_ignored(
    ghl: StandIn, db: None, django_capture_on_commit_callbacks: Any
) -> None:
    ghl.install(locationId=DUBAI, emitInstall=False)  # installed in GHL, never connected here
    ghl.trigger_event("ContactCreate", DUBAI, {"firstName": "Nobody"})
    forward(deliveries(ghl, "ContactCreate")[-1], django_capture_on_commit_callbacks)
    event = InboundEvent.objects.get(event_type="ContactCreate")
    assert event.status == "succeeded"
    assert not MirrorContact.objects.unscoped().exists()


def test_erasing_a_contact_removes_it_everywhere_and_audits_without_its_data(
    dubai: Location, ghl: StandIn
) -> None:
    opportunity = MirrorOpportunity.objects.for_location(dubai).exclude(contact_ghl_id="").first()
    assert opportunity is not None
    person = MirrorContact.objects.for_location(dubai).get(ghl_id=opportunity.contact_ghl_id)
    report = contact_erase(location=dubai, ghl_contact_id=person.ghl_id, acting_user=None)
    assert report.ghl == "deleted" and report.mirror["contacts"] == 1
    assert report.mirror["opportunity"] >= 1
    with pytest.raises(httpx.HTTPStatusError):
        api(ghl, "GET", f"/contacts/{person.ghl_id}")
    assert not MirrorContact.objects.for_location(dubai).filter(ghl_id=person.ghl_id).exists()
    assert (
        not MirrorOpportunity.objects.for_location(dubai)
        .filter(contact_ghl_id=person.ghl_id)
        .exists()
    )
    entry = AuditLogEntry.objects.for_agency(dubai.agency).get(action="contact.erased")
    assert entry.changes["contact"] == [person.ghl_id, None]
    assert person.email not in str(entry.changes) and person.email not in entry.target_repr
    again = contact_erase(location=dubai, ghl_contact_id=person.ghl_id, acting_user=None)
    assert again.ghl == "already gone" and again.mirror["contacts"] == 0


def test_erasure_needs_a_connected_location(world: Any) -> None:
    with pytest.raises(ApplicationError, match="not connected"):
        contact_erase(location=world.a.locations[0], ghl_contact_id="x", acting_user=None)


def test_a_malformed_record_is_a_dead_letter_at_once(dubai: Location) -> None:
    from tests import factories

    event = factories.InboundEventFactory(
        event_type="ContactUpdate",
        location_id=DUBAI,
        body=b'{"type":"ContactUpdate","webhookId":"w-bad","locationId":"' + DUBAI.encode() + b'"}',
    )
    assert inbound_event_process(event_pk=event.pk) == "dead"
    event.refresh_from_db()
    assert event.attempts == 1 and "id" in event.last_error
