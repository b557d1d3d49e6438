"""Mapping GHL records to mirror columns: the formats GHL uses, missing keys, and bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from integrations.mirror.mapping import KINDS, InvalidRecordsError, map_record, map_records

EVENT_TIME = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def test_iso_times_with_z_and_offsets_and_epoch_milliseconds() -> None:
    appointment = map_record(
        "appointment",
        {
            "id": "a1",
            "startTime": "2023-09-25T16:00:00+05:30",
            "endTime": "2023-09-25T16:30:00.250+05:30",
            "dateAdded": "2023-09-20T10:00:00.193Z",
            "dateUpdated": "2023-09-21T10:00:00Z",
        },
    )
    assert appointment["start_time"] == datetime(2023, 9, 25, 10, 30, tzinfo=UTC)
    assert appointment["end_time"] == datetime(2023, 9, 25, 11, 0, 0, 250_000, tzinfo=UTC)
    assert appointment["ghl_created_at"] == datetime(2023, 9, 20, 10, 0, 0, 193_000, tzinfo=UTC)
    assert appointment["ghl_updated_at"] == datetime(2023, 9, 21, 10, 0, tzinfo=UTC)
    assert appointment["start_time"].utcoffset() == timedelta(hours=5, minutes=30)

    conversation = map_record(
        "conversation",
        {"id": "c1", "lastMessageDate": 1767033323661, "dateUpdated": "1766967085852"},
    )
    assert conversation["last_message_at"] == datetime(2025, 12, 29, 18, 35, 23, 661_000, UTC)
    assert conversation["ghl_updated_at"] == datetime(2025, 12, 29, 0, 11, 25, 852_000, UTC)
    # A naive time is GHL's UTC.
    naive = map_record("message", {"id": "m1", "dateAdded": "2025-01-02T03:04:05"})
    assert naive["date_added"] == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_change_time_precedence() -> None:
    payload = {"id": "c1", "dateAdded": "2021-11-26T12:41:02.193Z"}
    created = datetime(2021, 11, 26, 12, 41, 2, 193_000, tzinfo=UTC)
    # A webhook payload has no update time: the event's time beats the creation time…
    assert map_record("contact", payload, changed_at=EVENT_TIME)["ghl_updated_at"] == EVENT_TIME
    assert map_record("contact", payload)["ghl_updated_at"] == created
    # …but never the record's own update time.
    updated = {**payload, "dateUpdated": "2022-01-01T00:00:00Z"}
    assert map_record("contact", updated, changed_at=EVENT_TIME)["ghl_updated_at"] == datetime(
        2022, 1, 1, tzinfo=UTC
    )
    opportunity = {"id": "o1", "createdAt": "2024-01-01T00:00:00Z", "updatedAt": None}
    assert map_record("opportunity", opportunity)["ghl_updated_at"] == datetime(
        2024, 1, 1, tzinfo=UTC
    )
    assert map_record("user", {"id": "u1"})["ghl_updated_at"] is None
    assert (
        map_record("pipeline", {"id": "p1"}, changed_at=EVENT_TIME)["ghl_updated_at"] == EVENT_TIME
    )


def test_a_batch_of_webhooks_gives_each_record_its_own_event_time() -> None:
    later = EVENT_TIME + timedelta(minutes=3)
    records = [{"id": "c1"}, {"id": "c2", "dateUpdated": "2022-01-01T00:00:00Z"}, {"id": "c3"}]
    rows = map_records("contact", records, changed_at=[EVENT_TIME, later, later]).rows
    assert [row[1] for row in rows] == [EVENT_TIME, datetime(2022, 1, 1, tzinfo=UTC), later]
    with pytest.raises(ValueError, match="one time per record"):
        map_records("contact", records, changed_at=[EVENT_TIME])
    with pytest.raises(ValueError, match="timezone-aware"):
        map_records("contact", records[:1], changed_at=[datetime(2026, 1, 1)])  # noqa: DTZ001


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        (40, Decimal("40.00")),
        (2165350.5, Decimal("2165350.50")),
        ("1234.567", Decimal("1234.57")),
        (" 99 ", Decimal("99.00")),
        (None, Decimal("0.00")),
        ("", Decimal("0.00")),
        (0.1 + 0.2, Decimal("0.30")),
    ],
)
def test_monetary_values_from_numbers_and_numeric_strings(raw: Any, stored: Decimal) -> None:
    assert map_record("opportunity", {"id": "o1", "monetaryValue": raw})["monetary_value"] == stored


def test_contact_fields_tags_custom_fields_country_and_lengths() -> None:
    row = map_record(
        "contact",
        {
            "id": "c1",
            "locationId": "L1",
            "firstName": "x" * 250,
            "phone": 971501234567,
            "country": "ae",
            "tags": ["vip", "golden visa"],
            "customFields": [
                {"id": "f1", "value": 10660000},
                {"id": "f2", "value": ["a", "b"]},
                {"key": "contact.pincode", "field_value": "452001"},
                {"value": "no name: skipped"},
            ],
            "dnd": True,
            "type": "lead",
            "email": "Mix\x00ed@Example.com",
        },
    )
    assert row["first_name"] == "x" * 200
    assert row["phone"] == "971501234567"
    assert row["country"] == "AE"
    assert row["tags"] == ["vip", "golden visa"]
    assert row["custom_fields"] == ('{"f1":10660000,"f2":["a","b"],"contact.pincode":"452001"}')
    assert (row["dnd"], row["contact_type"], row["email"]) == (True, "lead", "Mixed@Example.com")
    for name in ("Germany", "USA", "", None, "D"):
        assert map_record("contact", {"id": "c", "country": name})["country"] == ""


def test_missing_keys_give_empty_columns() -> None:
    for kind in KINDS:
        row = map_record(kind, {"id": "only-an-id"})
        assert row["ghl_id"] == "only-an-id"
        assert None not in [v for k, v in row.items() if k.endswith(("name", "status", "email"))]
    contact = map_record("contact", {"id": "c1"})
    assert (contact["tags"], contact["custom_fields"], contact["dnd"]) == ([], "{}", False)
    assert map_record("pipeline", {"id": "p1"})["stages"] == "[]"


def test_user_role_and_pipeline_stage_order() -> None:
    assert map_record("user", {"id": "u1", "roles": {"role": "admin"}})["role"] == "admin"
    assert map_record("user", {"id": "u1", "role": "user"})["role"] == "user"
    stages = map_record(
        "pipeline",
        {
            "id": "p1",
            "stages": [
                {"id": "s2", "name": "B", "position": 1},
                {"id": "s1", "name": "A", "position": 0},
            ],
        },
    )["stages"]
    assert stages == '[{"id":"s1","name":"A","position":0},{"id":"s2","name":"B","position":1}]'
    unpositioned = map_record("pipeline", {"id": "p1", "stages": [{"id": "x"}, {"id": "y"}]})
    assert (
        unpositioned["stages"]
        == '[{"id":"x","name":"","position":0},{"id":"y","name":"","position":1}]'
    )


def test_message_webhooks_name_the_message_message_id() -> None:
    inbound = {
        "type": "InboundMessage",
        "locationId": "L1",
        "messageId": "msg-1",
        "conversationId": "conv-1",
        "contactId": "ct-1",
        "messageType": "SMS",
        "direction": "inbound",
        "status": "delivered",
        "dateAdded": "2021-04-21T11:31:45.750Z",
    }
    row = map_record("message", inbound)
    assert (row["ghl_id"], row["conversation_ghl_id"], row["direction"]) == (
        "msg-1",
        "conv-1",
        "inbound",
    )


def test_bad_records_are_all_listed() -> None:
    records: list[Any] = [
        {"id": "ok"},
        {"firstName": "no id"},
        {"id": "bad-tags", "tags": "vip"},
        {"id": "bad-time", "dateAdded": "last tuesday"},
        {"id": "bad-money", "monetaryValue": "lots"},
        ["not", "an", "object"],
        {"id": {"nested": 1}},
        {"id": "x" * 65},
        {"id": "bad-name", "firstName": {"first": "A"}},
    ]
    with pytest.raises(InvalidRecordsError) as caught:
        map_records("contact", records)
    problems = caught.value.problems
    assert [p.index for p in problems] == [1, 2, 3, 5, 6, 7, 8]
    assert "#1 (no id): id: missing" in str(caught.value)
    assert problems[1].ghl_id == "bad-tags" and "tags" in problems[1].reason
    with pytest.raises(InvalidRecordsError, match="monetaryValue"):
        map_records("opportunity", [{"id": "o", "monetaryValue": "lots"}])
    with pytest.raises(InvalidRecordsError, match="out of range"):
        map_records("opportunity", [{"id": "o", "monetaryValue": 1e15}])
    with pytest.raises(InvalidRecordsError, match="unreadCount"):
        map_records("conversation", [{"id": "c", "unreadCount": "many"}])
    with pytest.raises(InvalidRecordsError, match="dnd"):
        map_records("contact", [{"id": "c", "dnd": "maybe"}])


def test_records_of_another_location_are_refused() -> None:
    with pytest.raises(InvalidRecordsError, match="belongs to location 'OTHER'"):
        map_records("contact", [{"id": "c", "locationId": "OTHER"}], location_ghl_id="MINE")
    assert map_records("contact", [{"id": "c", "locationId": "MINE"}], location_ghl_id="MINE")


def test_unknown_kind_and_naive_change_time() -> None:
    with pytest.raises(ValueError, match="unknown mirror kind 'lead'"):
        map_records("lead", [])
    with pytest.raises(ValueError, match="timezone-aware"):
        map_records("contact", [], changed_at=datetime(2026, 1, 1))  # noqa: DTZ001
    assert map_record(
        "contact",
        {"id": "c", "dateUpdated": datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=4)))},
    )["ghl_updated_at"] == datetime(2025, 12, 31, 20, tzinfo=UTC)
