"""Webhook payload shapes (REFERENCE §4.4-4.5), built from stored records."""

from __future__ import annotations

from typing import Any

CONTACT_EVENT_FIELDS = (
    "locationId",
    "id",
    "address1",
    "city",
    "state",
    "companyName",
    "country",
    "source",
    "dateAdded",
    "dateOfBirth",
    "dnd",
    "email",
    "name",
    "firstName",
    "lastName",
    "phone",
    "postalCode",
    "tags",
    "website",
    "assignedTo",
    "customFields",
)
OPPORTUNITY_EVENT_FIELDS = (
    "locationId",
    "id",
    "assignedTo",
    "contactId",
    "monetaryValue",
    "name",
    "pipelineId",
    "pipelineStageId",
    "source",
    "status",
)
APPOINTMENT_EVENT_FIELDS = (
    "id",
    "address",
    "title",
    "calendarId",
    "contactId",
    "groupId",
    "appointmentStatus",
    "assignedUserId",
    "users",
    "notes",
    "source",
    "startTime",
    "endTime",
    "dateAdded",
    "dateUpdated",
)


def contact_payload(contact: dict[str, Any]) -> dict[str, Any]:
    out = {k: contact[k] for k in CONTACT_EVENT_FIELDS if k in contact}
    out["attachments"] = []
    return out


def opportunity_payload(opp: dict[str, Any]) -> dict[str, Any]:
    out = {k: opp[k] for k in OPPORTUNITY_EVENT_FIELDS if k in opp}
    out["dateAdded"] = opp.get("createdAt")
    return out


def appointment_payload(appt: dict[str, Any]) -> dict[str, Any]:
    return {
        "locationId": appt["locationId"],
        "appointment": {k: appt[k] for k in APPOINTMENT_EVENT_FIELDS if k in appt},
    }


def message_payload(message: dict[str, Any], channel: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "locationId": message["locationId"],
        "attachments": list(message.get("attachments", [])),
        "body": message.get("body", ""),
        "contactId": message["contactId"],
        "contentType": message.get("contentType", "text/plain"),
        "conversationId": message["conversationId"],
        "dateAdded": message["dateAdded"],
        "direction": message["direction"],
        "messageType": channel,
        "messageId": message["id"],
        "status": message.get("status", "delivered"),
    }
    for key in (
        "userId",
        "conversationProviderId",
        "subject",
        "from",
        "to",
        "emailMessageId",
        "threadId",
    ):
        if message.get(key):
            out[key] = message[key]
    return out
