"""Verification of GHL webhooks (REFERENCE §4.2), failing closed.

`X-GHL-Signature` (Ed25519 over the raw body) is checked when present; `X-WH-Signature` (RSA
PKCS#1 v1.5 / SHA-256) only when the first is absent. A missing, malformed or wrong signature, a
body over the size cap, or a payload for another app is refused — nothing gets stored."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.hashes import SHA256
from django.conf import settings

from .config import ghl_app, webhook_keys

ED25519_HEADER = "X-GHL-Signature"
RSA_HEADER = "X-WH-Signature"
MAX_DEPTH = 32


class WebhookRejected(Exception):
    """The delivery is not an authentic, well-formed GHL event for our app."""

    def __init__(self, reason: str, *, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class VerifiedEvent:
    payload: dict[str, Any]
    event_id: str
    event_type: str
    occurred_at: datetime | None
    signature_kind: str  # "ed25519" or "rsa"

    @property
    def company_id(self) -> str:
        return str(self.payload.get("companyId") or "")

    @property
    def location_id(self) -> str:
        return str(self.payload.get("locationId") or "")

    @property
    def entity_id(self) -> str:
        """The record the event is about: `id`, or the nested appointment's, or the message's."""
        nested = self.payload.get("appointment")
        if isinstance(nested, dict) and nested.get("id"):
            return str(nested["id"])
        return str(self.payload.get("id") or self.payload.get("messageId") or "")


def _decode_signature(value: str) -> bytes:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WebhookRejected("malformed signature") from exc


def verify_signature(body: bytes, headers: Mapping[str, str]) -> str:
    """Which key kind signed `body`; raises WebhookRejected unless a configured key did."""
    ed_keys, rsa_keys = webhook_keys()
    ed_value = headers.get(ED25519_HEADER, "").strip()
    if ed_value and ed_value.upper() != "N/A":
        signature = _decode_signature(ed_value)
        for ed_key in ed_keys:
            try:
                ed_key.verify(signature, body)
            except InvalidSignature:
                continue
            return "ed25519"
        raise WebhookRejected("bad Ed25519 signature")
    rsa_value = headers.get(RSA_HEADER, "").strip()
    if rsa_value and rsa_value.upper() != "N/A":
        signature = _decode_signature(rsa_value)
        for rsa_key in rsa_keys:
            try:
                rsa_key.verify(signature, body, PKCS1v15(), SHA256())
            except InvalidSignature:
                continue
            return "rsa"
        raise WebhookRejected("bad RSA signature")
    raise WebhookRejected("unsigned delivery")


def _too_deep(payload: dict[str, Any]) -> bool:
    """Whether containers nest deeper than MAX_DEPTH (only containers are visited: a webhook's
    scalars are most of it, and this runs on every delivery)."""
    stack: list[tuple[Any, int]] = [(payload, 1)]
    while stack:
        value, level = stack.pop()
        if level > MAX_DEPTH:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((c, level + 1) for c in children if isinstance(c, dict | list))
    return False


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def verify(body: bytes, headers: Mapping[str, str]) -> VerifiedEvent:
    """Authenticate and parse one delivery. Signatures are checked before the body is parsed, so
    nothing unauthenticated reaches the JSON parser."""
    if len(body) > settings.GHL_WEBHOOK_MAX_BYTES:
        raise WebhookRejected("body too large", status=413)
    kind = verify_signature(body, headers)
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WebhookRejected("body is not JSON", status=400) from exc
    if not isinstance(payload, dict) or _too_deep(payload):
        raise WebhookRejected("payload is not a flat JSON object", status=400)
    event_type, event_id = payload.get("type"), payload.get("webhookId")
    if not isinstance(event_type, str) or not event_type:
        raise WebhookRejected("payload has no type", status=400)
    if not isinstance(event_id, str) or not event_id or len(event_id) > 128:
        raise WebhookRejected("payload has no webhookId", status=400)
    app_id = payload.get("appId")
    if app_id is not None and app_id != ghl_app().app_id:
        raise WebhookRejected("event for another app", status=403)
    return VerifiedEvent(
        payload=payload,
        event_id=event_id,
        event_type=event_type,
        occurred_at=_parse_time(payload.get("timestamp")),
        signature_kind=kind,
    )
