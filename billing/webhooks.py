"""Receiving Stripe events: two endpoints (the platform account's events, and connected
accounts' events, which name their `account`), each with its own signing secrets.

Fail closed: a body that is not signed by one of our secrets within the tolerance is refused with
a 400 and nothing is stored. A verified event is stored under its unique (source, event id)
before the 2xx; when it cannot be stored we answer 429 so Stripe retries — never a 5xx."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

import stripe
from django.db import DatabaseError

from saas_platform.kernel.logging import get_logger

from .models import StripeEvent
from .services.inbox import stripe_event_store

log = get_logger(__name__)

SIGNATURE_HEADER = "Stripe-Signature"


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, str]


def receive(
    *,
    source: str,
    body: bytes,
    signature: str,
    secrets: Sequence[str],
    tolerance: int,
    max_bytes: int,
) -> Answer:
    if len(body) > max_bytes:
        return Answer(413, {"error": "body too large"})
    if not secrets:
        # Unconfigured: nothing can be verified, so nothing is accepted (Stripe retries 4xx
        # for days, so events wait rather than being lost).
        log.error("billing.webhook.no_secret", source=source)
        return Answer(400, {"error": "endpoint not configured"})
    if not _signed(body, signature, secrets, tolerance):
        log.info("billing.webhook.rejected", source=source)
        return Answer(400, {"error": "bad or stale signature"})
    try:
        event = json.loads(body)
        event_id, event_type = str(event["id"]), str(event["type"])
        data_object = event["data"]["object"]
    except (ValueError, KeyError, TypeError):
        return Answer(400, {"error": "not a Stripe event"})
    account = str(event.get("account") or "")
    if source == StripeEvent.Source.CONNECT and not account:
        return Answer(400, {"error": "a Connect event names its account"})
    if source == StripeEvent.Source.PLATFORM and account:
        return Answer(400, {"error": "a connected account's event sent to the platform endpoint"})
    try:
        stored = stripe_event_store(
            source=source,
            event_id=event_id,
            event_type=event_type,
            account=account,
            object_id=str(data_object.get("id", "")) if isinstance(data_object, dict) else "",
            livemode=bool(event.get("livemode")),
            body=body,
        )
    except DatabaseError as exc:
        log.error("billing.webhook.store_failed", event_id=event_id, error=str(exc))
        return Answer(429, {"error": "temporarily unable to store the event"})
    return Answer(200, {"status": "accepted" if stored else "duplicate"})


def _signed(body: bytes, signature: str, secrets: Sequence[str], tolerance: int) -> bool:
    if not signature:
        return False
    try:
        payload = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    # The SDK refuses only old timestamps; one from beyond the tolerance ahead is as suspect.
    stamps = [p[2:] for p in signature.split(",") if p.startswith("t=")]
    if not stamps or not stamps[0].isdigit() or int(stamps[0]) > time.time() + tolerance:
        return False
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance)
        except stripe.SignatureVerificationError:
            continue
        return True
    return False
