"""Conversations (one per contact and channel family) and their messages."""

from __future__ import annotations

from typing import Any

Conversation = dict[str, Any]
Message = dict[str, Any]

# GHL's numeric message type codes and their names, for the message types the stand-in sends.
MESSAGE_TYPES: dict[str, tuple[int, str]] = {
    "SMS": (2, "TYPE_SMS"),
    "Email": (3, "TYPE_EMAIL"),
    "WhatsApp": (19, "TYPE_WHATSAPP"),
    "FB": (11, "TYPE_FACEBOOK"),
    "IG": (18, "TYPE_INSTAGRAM"),
    "Live_Chat": (29, "TYPE_LIVE_CHAT"),
    "Custom": (2, "TYPE_SMS"),
    "RCS": (2, "TYPE_RCS"),
    "TIKTOK": (34, "TYPE_TIKTOK"),
    "CALL": (1, "TYPE_CALL"),
}


class ConversationStore:
    def __init__(self) -> None:
        self.by_id: dict[str, Conversation] = {}
        self.by_contact: dict[str, str] = {}
        self.messages: dict[str, list[Message]] = {}
        self.message_by_id: dict[str, Message] = {}
        self.last_ms: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.by_id)

    def add(self, conversation: Conversation, last_ms: int) -> None:
        self.by_id[conversation["id"]] = conversation
        self.by_contact[conversation["contactId"]] = conversation["id"]
        self.messages.setdefault(conversation["id"], [])
        self.last_ms[conversation["id"]] = last_ms

    def add_message(self, message: Message, at_ms: int) -> None:
        conv_id = message["conversationId"]
        self.messages[conv_id].append(message)
        self.message_by_id[message["id"]] = message
        conversation = self.by_id[conv_id]
        conversation["lastMessageBody"] = message.get("body", "")
        conversation["lastMessageType"] = message["messageType"]
        conversation["lastMessageDirection"] = message["direction"]
        conversation["lastMessageDate"] = at_ms
        if message["direction"] == "inbound":
            conversation["unreadCount"] = conversation.get("unreadCount", 0) + 1
        self.last_ms[conv_id] = at_ms

    def remove_contact(self, contact_id: str) -> list[str]:
        """Drop a deleted contact's conversation; returns the ids released."""
        conv_id = self.by_contact.pop(contact_id, None)
        if conv_id is None:
            return []
        self.by_id.pop(conv_id, None)
        self.last_ms.pop(conv_id, None)
        released = [conv_id]
        for message in self.messages.pop(conv_id, []):
            self.message_by_id.pop(message["id"], None)
            released.append(message["id"])
        return released
