"""GHL's records (as the stand-in serves them, and as webhooks carry them) round-trip through
`mirror_upsert` into every mirror table, awkward text included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from integrations.mirror.models import (
    MirrorAppointment,
    MirrorContact,
    MirrorConversation,
    MirrorMessage,
    MirrorOpportunity,
    MirrorPipeline,
    MirrorUser,
)
from integrations.mirror.writer import WriteResult
from tenants.models import Location
from tests.integrations.mirror.conftest import Record
from tests.integrations.mirror.helpers import T0, contact, parse, stored, upsert

pytestmark = pytest.mark.django_db


def test_contacts_round_trip(dubai: Location, ghl_samples: dict[str, list[Record]]) -> None:
    records = ghl_samples["contact"]
    assert upsert(dubai, records) == WriteResult(len(records), 0, 0, 0, 0)
    rows = {c.ghl_id: c for c in MirrorContact.objects.for_location(dubai)}
    assert len(rows) == len(records)
    for record in records:
        row = rows[record["id"]]
        assert (row.first_name, row.last_name, row.email) == (
            record.get("firstName", ""),
            record.get("lastName", ""),
            record.get("email", ""),
        )
        assert (row.phone, row.source, row.contact_type, row.assigned_to) == (
            record.get("phone", ""),
            record.get("source", ""),
            record.get("type", ""),
            record.get("assignedTo", ""),
        )
        assert (row.city, row.state, row.postal_code, row.country, row.timezone) == (
            record.get("city", ""),
            record.get("state", ""),
            record.get("postalCode", ""),
            record.get("country", ""),
            record.get("timezone", ""),
        )
        assert row.dnd is bool(record.get("dnd"))
        assert row.tags == record["tags"]
        assert row.custom_fields == {f["id"]: f["value"] for f in record["customFields"]}
        assert row.date_added == parse(record["dateAdded"])
        assert row.ghl_updated_at == parse(record["dateUpdated"])
        assert row.synced_at is not None


def test_users_and_pipelines_round_trip(
    dubai: Location, ghl_samples: dict[str, list[Record]]
) -> None:
    users, pipelines = ghl_samples["user"], ghl_samples["pipeline"]
    assert upsert(dubai, users, "user", changed_at=T0).inserted == len(users)
    assert upsert(dubai, pipelines, "pipeline").inserted == len(pipelines)
    for record in users:
        user = MirrorUser.objects.for_location(dubai).get(ghl_id=record["id"])
        assert (user.first_name, user.last_name, user.email, user.phone, user.role) == (
            record["firstName"],
            record["lastName"],
            record["email"],
            record["phone"],
            record["roles"]["role"],
        )
        assert user.ghl_updated_at == T0  # users carry no change time of their own
    for record in pipelines:
        pipeline = MirrorPipeline.objects.for_location(dubai).get(ghl_id=record["id"])
        assert pipeline.name == record["name"]
        assert pipeline.stages == [
            {"id": s["id"], "name": s["name"], "position": s["position"]} for s in record["stages"]
        ]
        assert pipeline.ghl_updated_at is None


def test_opportunities_and_appointments_round_trip(
    dubai: Location, ghl_samples: dict[str, list[Record]]
) -> None:
    opportunities, events = ghl_samples["opportunity"], ghl_samples["appointment"]
    assert upsert(dubai, opportunities, "opportunity").inserted == len(opportunities)
    assert upsert(dubai, events, "appointment").inserted == len(events)
    for record in opportunities:
        opp = MirrorOpportunity.objects.for_location(dubai).get(ghl_id=record["id"])
        assert (opp.name, opp.contact_ghl_id, opp.pipeline_ghl_id, opp.stage_ghl_id) == (
            record["name"],
            record["contactId"],
            record["pipelineId"],
            record["pipelineStageId"],
        )
        assert (opp.status, opp.assigned_to, opp.source) == (
            record["status"],
            record.get("assignedTo", ""),
            record["source"],
        )
        assert opp.monetary_value == Decimal(str(record["monetaryValue"])).quantize(Decimal("0.01"))
        assert opp.ghl_created_at == parse(record["createdAt"])
        assert opp.ghl_updated_at == parse(record["updatedAt"])
        assert opp.last_status_change_at == parse(record["lastStatusChangeAt"])
        assert opp.last_stage_change_at == parse(record["lastStageChangeAt"])
    for record in events:
        appt = MirrorAppointment.objects.for_location(dubai).get(ghl_id=record["id"])
        assert (appt.calendar_ghl_id, appt.contact_ghl_id, appt.assigned_user_ghl_id) == (
            record["calendarId"],
            record["contactId"],
            record["assignedUserId"],
        )
        assert (appt.title, appt.status) == (record["title"], record["appointmentStatus"])
        # The stand-in writes appointment times with the calendar's offset (+04:00).
        assert appt.start_time == parse(record["startTime"])
        assert appt.end_time == parse(record["endTime"])
        assert appt.ghl_created_at == parse(record["dateAdded"])
        assert appt.ghl_updated_at == parse(record["dateUpdated"])


def test_conversations_and_messages_round_trip(
    dubai: Location, ghl_samples: dict[str, list[Record]]
) -> None:
    conversations, messages = ghl_samples["conversation"], ghl_samples["message"]
    assert upsert(dubai, conversations, "conversation").inserted == len(conversations)
    assert upsert(dubai, messages, "message").inserted == len(messages)

    def from_ms(ms: int) -> datetime:
        return datetime.fromtimestamp(ms / 1000, tz=UTC)

    for record in conversations:
        conv = MirrorConversation.objects.for_location(dubai).get(ghl_id=record["id"])
        assert (conv.contact_ghl_id, conv.last_message_type, conv.unread_count) == (
            record["contactId"],
            record["lastMessageType"],
            record["unreadCount"],
        )
        assert conv.last_message_at == from_ms(record["lastMessageDate"])
        assert conv.ghl_updated_at == from_ms(record["dateUpdated"])  # epoch ms in the stand-in
    for record in messages:
        msg = MirrorMessage.objects.for_location(dubai).get(ghl_id=record["id"])
        assert (msg.conversation_ghl_id, msg.contact_ghl_id, msg.message_type) == (
            record["conversationId"],
            record["contactId"],
            record["messageType"],
        )
        assert (msg.direction, msg.status, msg.user_ghl_id) == (
            record["direction"],
            record["status"],
            record.get("userId", ""),
        )
        assert msg.date_added == msg.ghl_updated_at == parse(record["dateAdded"])


def test_webhook_payloads(dubai: Location) -> None:
    """Flat ContactCreate (REFERENCE §4.5) and the inner object of AppointmentCreate."""
    event_time = T0 + timedelta(days=1)
    payload = {
        "type": "ContactCreate",
        "locationId": dubai.ghl_location_id,
        "id": "nmFmQEsNgz6AVpgLVUJ0",
        "address1": "3535 1st St N",
        "country": "DE",
        "dateAdded": "2021-11-26T12:41:02.193Z",
        "dnd": True,
        "firstName": "John",
        "tags": ["id magna sed Lorem"],
        "customFields": [{"id": "BcdmQEsNgz6AVpgLVUJ0", "value": "XYZ Corp"}],
    }
    assert upsert(dubai, [payload], changed_at=event_time).inserted == 1
    row = stored(dubai, "nmFmQEsNgz6AVpgLVUJ0")
    assert (row.country, row.dnd, row.ghl_updated_at) == ("DE", True, event_time)
    assert row.custom_fields == {"BcdmQEsNgz6AVpgLVUJ0": "XYZ Corp"}
    envelope = {
        "type": "AppointmentCreate",
        "locationId": dubai.ghl_location_id,
        "appointment": {
            "id": "0007BWpSzSwfiuSl0tR2",
            "calendarId": "BqTwX8QFwXzpegMve9EQ",
            "appointmentStatus": "confirmed",
            "startTime": "2023-09-25T16:00:00+05:30",
            "endTime": "2023-09-25T16:30:00+05:30",
            "dateAdded": "2023-09-25T16:00:00+05:30",
            "dateUpdated": "2023-09-25T16:00:00+05:30",
        },
    }
    assert (
        upsert(dubai, [envelope["appointment"]], "appointment", changed_at=event_time).inserted == 1
    )
    appt = MirrorAppointment.objects.for_location(dubai).get(ghl_id="0007BWpSzSwfiuSl0tR2")
    assert appt.start_time == datetime(2023, 9, 25, 10, 30, tzinfo=UTC)
    assert appt.ghl_updated_at == datetime(2023, 9, 25, 10, 30, tzinfo=UTC)


def test_awkward_text_arrays_and_json_survive_the_copy(dubai: Location) -> None:
    tags = ["a,b", 'quote"d', "back\\slash", "{brace}", "ünï 🚀", "NULL", "tab\there", "x" * 250]
    custom = [
        {"id": "f1", "value": "line\nbreak\ttab"},
        {"id": "f2", "value": {"nested": [1, "two", None, 2.5]}},
        {"id": "f3", "value": 'quote" back\\'},
        {"id": "f4", "value": "nul\x00byte"},
        {"id": "f5", "value": ["x", "y"]},
        {"id": "f6", "value": 12345678901234567890},
    ]
    upsert(
        dubai,
        [contact("c1", tags=tags, customFields=custom, lastName="O'Brien\\", city="Zürich\x00")],
    )
    row = stored(dubai)
    assert row.tags == [*tags[:-1], "x" * 200]
    assert row.custom_fields == {
        "f1": "line\nbreak\ttab",
        "f2": {"nested": [1, "two", None, 2.5]},
        "f3": 'quote" back\\',
        "f4": "nulbyte",
        "f5": ["x", "y"],
        "f6": 12345678901234567890,
    }
    assert (row.last_name, row.city) == ("O'Brien\\", "Zürich")
    # The same awkward values read back as identical: nothing rewritten.
    assert (
        upsert(
            dubai,
            [
                contact(
                    "c1", tags=tags, customFields=custom, lastName="O'Brien\\", city="Zürich\x00"
                )
            ],
        ).unchanged
        == 1
    )
