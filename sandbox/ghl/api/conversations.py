"""Conversations and messages (``Version: 2021-04-15``)."""

from __future__ import annotations

from typing import Any

from sandbox.ghl import errors
from sandbox.ghl.api.common import V4, loc, now_ms, route
from sandbox.ghl.clock import iso_ms
from sandbox.ghl.events import message_payload
from sandbox.ghl.ids import new_id
from sandbox.ghl.pipeline import ApiRoute, Ctx
from sandbox.ghl.state import SandboxState
from sandbox.ghl.store.contacts import Contact
from sandbox.ghl.store.conversations import MESSAGE_TYPES, Conversation, Message
from sandbox.ghl.store.world import Location

PHONE_CHANNELS = {"SMS", "WhatsApp", "RCS", "CALL"}


def ensure_conversation(state: SandboxState, location: Location, contact: Contact) -> Conversation:
    store = location.data.conversations
    existing = store.by_contact.get(contact["id"])
    if existing is not None:
        return store.by_id[existing]
    at = now_ms()
    conversation: Conversation = {
        "id": new_id(),
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
    store.add(conversation, at)
    state.world.claim("conversation", conversation["id"], location.id)
    return conversation


def add_message(
    state: SandboxState,
    location: Location,
    contact: Contact,
    channel: str,
    direction: str,
    body: str,
    extra: dict[str, Any] | None = None,
) -> Message:
    """Store a message and emit InboundMessage/OutboundMessage (shared with the control API)."""
    if channel not in MESSAGE_TYPES:
        raise errors.unprocessable(
            "type must be one of the following values: " + ", ".join(MESSAGE_TYPES)
        )
    conversation = ensure_conversation(state, location, contact)
    at = now_ms()
    code, name = MESSAGE_TYPES[channel]
    message: Message = {
        "id": new_id(),
        "type": code,
        "messageType": name,
        "locationId": location.id,
        "contactId": contact["id"],
        "conversationId": conversation["id"],
        "dateAdded": iso_ms(at),
        "body": body,
        "direction": direction,
        "status": "delivered",
        "contentType": "text/html" if channel == "Email" else "text/plain",
        "attachments": [],
        "source": "api" if direction == "outbound" else "app",
    }
    message.update(extra or {})
    location.data.conversations.add_message(message, at)
    conversation["dateUpdated"] = at
    state.world.claim("message", message["id"], location.id)
    event = "InboundMessage" if direction == "inbound" else "OutboundMessage"
    state.emit_location_event(location.id, event, message_payload(message, channel))
    return message


def render(location: Location, conversation: Conversation) -> dict[str, Any]:
    contact = location.data.contacts.get(conversation["contactId"]) or {}
    name = contact.get("name", "")
    return conversation | {
        "fullName": name,
        "contactName": name,
        "email": contact.get("email", ""),
        "phone": contact.get("phone", ""),
    }


async def search(ctx: Ctx) -> Any:
    location = ctx.location(ctx.require_query("locationId"))
    limit = ctx.int_query("limit", 20, 1, 100)
    store = location.data.conversations
    rows = list(store.by_id.values())
    contact_id = ctx.query("contactId")
    if contact_id:
        rows = [c for c in rows if c["contactId"] == contact_id]
    if ctx.query("status") == "unread":
        rows = [c for c in rows if c.get("unreadCount")]
    last_type = ctx.query("lastMessageType")
    if last_type:
        rows = [c for c in rows if c.get("lastMessageType") == last_type]
    query = (ctx.query("query") or "").lower()
    if query:
        rows = [
            c
            for c in rows
            if query in render(location, c)["fullName"].lower()
            or query in c.get("lastMessageBody", "").lower()
        ]
    descending = ctx.query("sort") != "asc"
    rows.sort(key=lambda c: (c["lastMessageDate"], c["id"]), reverse=descending)
    total = len(rows)
    after = ctx.query("startAfterDate")
    if after:
        cutoff = int(float(after))
        rows = [
            c
            for c in rows
            if (c["lastMessageDate"] < cutoff if descending else c["lastMessageDate"] > cutoff)
        ]
    return {"conversations": [render(location, c) for c in rows[:limit]], "total": total}


async def create(ctx: Ctx) -> Any:
    location = ctx.location(ctx.body.get("locationId"))
    contact = location.data.contacts.get(ctx.body["contactId"])
    if contact is None:
        raise errors.bad_request("Contact not found")
    conversation = ensure_conversation(ctx.state, location, contact)
    out = {k: conversation[k] for k in ("id", "contactId", "locationId", "deleted")}
    for key in ("dateAdded", "dateUpdated", "lastMessageDate"):
        out[key] = iso_ms(conversation[key])
    return {"success": True, "conversation": out}


async def messages(ctx: Ctx) -> Any:
    conversation_id = ctx.params["conversationId"]
    location = ctx.owned("conversation", conversation_id, "Conversation")
    limit = ctx.int_query("limit", 20, 1, 100)
    rows = list(reversed(location.data.conversations.messages.get(conversation_id, [])))
    kind = ctx.query("type")
    if kind:
        rows = [m for m in rows if m["messageType"] in kind.split(",")]
    last_id = ctx.query("lastMessageId")
    if last_id:
        ids = [m["id"] for m in rows]
        rows = rows[ids.index(last_id) + 1 :] if last_id in ids else []
    page = rows[:limit]
    return {
        "lastMessageId": page[-1]["id"] if page else "",
        "nextPage": len(rows) > limit,
        "messages": page,
    }


async def send_message(ctx: Ctx) -> Any:
    body = ctx.body
    contact_id = body["contactId"]
    location = ctx.owned("contact", contact_id, "Contact")
    contact = location.data.contacts.by_id[contact_id]
    channel = body["type"]
    if channel in PHONE_CHANNELS and not contact.get("phone"):
        raise errors.bad_request("Contact does not have a phone number")
    if channel == "Email" and not (contact.get("email") or body.get("emailTo")):
        raise errors.bad_request("Contact does not have an email address")
    text = body.get("message") or body.get("html") or ""
    extra: dict[str, Any] = {}
    if channel == "Email":
        extra = {
            "subject": body.get("subject", ""),
            "emailMessageId": new_id(),
            "to": [body.get("emailTo") or contact.get("email", "")],
        }
    if body.get("conversationProviderId"):
        extra["conversationProviderId"] = body["conversationProviderId"]
    message = add_message(ctx.state, location, contact, channel, "outbound", text, extra)
    out: dict[str, Any] = {
        "conversationId": message["conversationId"],
        "messageId": message["id"],
        "msg": "Message queued successfully.",
        "status": message["status"],
    }
    if "emailMessageId" in message:
        out["emailMessageId"] = message["emailMessageId"]
    return out


def routes() -> list[ApiRoute]:
    read, write = loc("conversations.readonly"), loc("conversations.write")
    msg_read, msg_write = loc("conversations/message.readonly"), loc("conversations/message.write")
    spec = "conversations"
    return [
        route("GET", "/conversations/search", spec, "search-conversation", V4, [read], search),
        route(
            "POST",
            "/conversations/messages",
            spec,
            "send-a-new-message",
            V4,
            [msg_write],
            send_message,
            body="json",
        ),
        route(
            "POST",
            "/conversations/",
            spec,
            "create-conversation",
            V4,
            [write],
            create,
            status=201,
            body="json",
        ),
        route(
            "GET",
            "/conversations/{conversationId}/messages",
            spec,
            "get-messages",
            V4,
            [msg_read],
            messages,
        ),
    ]
