"""Sending deliveries: claim what is due (several workers never claim the same row), POST the
signed event through the SSRF-guarded client without following redirects, record the outcome,
schedule the retry, and disable an endpoint that has failed for a day or answered 410 Gone.

A claim moves `next_attempt_at` a lease ahead and counts the attempt before anything is sent,
so a worker that dies mid-send leaves the delivery to be retried after the lease (receivers
deduplicate on webhook-id, docs/webhooks.md), and a worker's late outcome for an attempt
another worker has since made is dropped."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from integrations.connectors.base import ConnectorError
from integrations.connectors.ssrf import guarded_http_client
from saas_platform.kernel.logging import get_logger

from . import signing
from .endpoints import allowed_schemes
from .mail import endpoint_disabled_mail_send
from .models import WebhookDelivery, WebhookEndpoint

log = get_logger(__name__)

# Waits after the 1st, 2nd, … failed attempt: 8 attempts over about 24 hours.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=8),
    timedelta(hours=8),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.1  # ± this share of each wait, so retries of many deliveries do not arrive together
LEASE = timedelta(minutes=5)  # far beyond TIMEOUT: only a stalled worker outlives it
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# An endpoint is disabled once every attempt has failed for this long (and at least
# DISABLE_MIN_FAILURES of them, so one failure a day later does not count as sustained).
DISABLE_AFTER = timedelta(hours=24)
DISABLE_MIN_FAILURES = 5
EXCERPT_CHARS = 500
_random = secrets.SystemRandom()


def retry_delay(attempt: int) -> timedelta:
    """The wait after failed attempt number `attempt` (1-based), with jitter."""
    base = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS)) - 1]
    return base * _random.uniform(1 - JITTER, 1 + JITTER)


def payload(delivery: WebhookDelivery) -> bytes:
    event = delivery.event
    body = {
        "type": event.type,
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": event.data,
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def deliveries_claim(*, limit: int, now: datetime | None = None) -> list[int]:
    moment = now or timezone.now()
    due = (
        WebhookDelivery.objects.unscoped()
        .filter(
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at__lte=moment,
            endpoint__enabled=True,
        )
        .order_by("next_attempt_at", "id")
    )
    with transaction.atomic():
        ids = list(
            due.select_for_update(skip_locked=True, of=("self",)).values_list("pk", flat=True)[
                :limit
            ]
        )
        WebhookDelivery.objects.unscoped().filter(pk__in=ids).update(
            attempts=F("attempts") + 1, next_attempt_at=moment + LEASE, last_attempt_at=moment
        )
    return ids


def deliveries_send_due(*, limit: int = 100) -> int:
    """Send every due delivery, `limit` per claim. Returns how many attempts were made."""
    sent = 0
    with guarded_http_client(timeout=TIMEOUT.read or 10.0, schemes=allowed_schemes()) as client:
        while ids := deliveries_claim(limit=limit):
            for delivery_id in ids:
                delivery_attempt(delivery_id=delivery_id, client=client)
            sent += len(ids)
            if len(ids) < limit:
                break
    return sent


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None = None
    excerpt: str = ""
    error: str = ""
    gone: bool = False
    duration_ms: int = 0


def _post(client: httpx.Client, delivery: WebhookDelivery) -> Outcome:
    endpoint, body = delivery.endpoint, payload(delivery)
    headers = signing.headers(
        secrets=endpoint.signing_secrets(),
        msg_id=delivery.event.public_id,
        timestamp=int(time.time()),
        body=body,
    )
    started = time.monotonic()
    try:
        response = client.post(
            endpoint.url, content=body, headers=headers, follow_redirects=False, timeout=TIMEOUT
        )
    except ConnectorError as exc:  # the SSRF guard, at send time: DNS may have changed
        return Outcome(False, error=f"Refused: {exc.message}"[:EXCERPT_CHARS])
    except httpx.TimeoutException:
        return Outcome(False, error="The endpoint did not answer in time.")
    except httpx.HTTPError as exc:
        return Outcome(False, error=f"Could not connect: {type(exc).__name__}.")
    elapsed = int((time.monotonic() - started) * 1000)
    excerpt = response.text[:EXCERPT_CHARS]
    code = response.status_code
    if 200 <= code < 300:
        return Outcome(True, code, excerpt, duration_ms=elapsed)
    error = f"The endpoint answered {code}."
    if 300 <= code < 400:
        error = f"The endpoint answered {code} (a redirect): redirects are not followed."
    return Outcome(False, code, excerpt, error, gone=code == 410, duration_ms=elapsed)


def delivery_attempt(*, delivery_id: int, client: httpx.Client) -> str | None:
    """Make the attempt just claimed; returns the delivery's new status (None: dropped)."""
    delivery = (
        WebhookDelivery.objects.unscoped()
        .select_related("event", "endpoint")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
        return None
    outcome = _post(client, delivery)
    return _record(delivery, outcome)


def _record(delivery: WebhookDelivery, outcome: Outcome) -> str | None:
    now = timezone.now()
    fields: dict[str, Any] = {
        "response_status": outcome.status,
        "response_excerpt": outcome.excerpt,
        "error": outcome.error,
        "duration_ms": outcome.duration_ms,
    }
    if outcome.ok:
        status, fields["delivered_at"] = WebhookDelivery.Status.SUCCEEDED, now
    elif outcome.gone:
        status = WebhookDelivery.Status.FAILED
    elif delivery.attempts >= MAX_ATTEMPTS:
        status = WebhookDelivery.Status.DEAD
    else:
        status = WebhookDelivery.Status.PENDING
        fields["next_attempt_at"] = now + retry_delay(delivery.attempts)
    with transaction.atomic():
        updated = (
            WebhookDelivery.objects.unscoped()
            .filter(pk=delivery.pk, attempts=delivery.attempts, status=delivery.Status.PENDING)
            .update(status=status, **fields)
        )
        if not updated:  # the lease ran out and another worker made a newer attempt
            return None
        endpoints = WebhookEndpoint.objects.unscoped().filter(pk=delivery.endpoint_id)
        if outcome.ok:
            endpoints.update(consecutive_failures=0, failing_since=None, last_success_at=now)
        else:
            endpoints.update(
                consecutive_failures=F("consecutive_failures") + 1,
                failing_since=Coalesce(F("failing_since"), now),
            )
            if outcome.gone:
                endpoint_disable(
                    endpoint_id=delivery.endpoint_id,
                    reason="The endpoint answered 410 Gone: it asked not to receive more events.",
                )
            else:
                _disable_if_failing(delivery.endpoint_id, now)
    log.info(
        "webhooks_out.delivery.attempted",
        delivery_id=delivery.pk,
        endpoint_id=delivery.endpoint_id,
        attempt=delivery.attempts,
        status=status,
        response_status=outcome.status,
    )
    return status


def _disable_if_failing(endpoint_id: int, now: datetime) -> None:
    failing = (
        WebhookEndpoint.objects.unscoped()
        .filter(
            pk=endpoint_id,
            enabled=True,
            consecutive_failures__gte=DISABLE_MIN_FAILURES,
            failing_since__lte=now - DISABLE_AFTER,
        )
        .exists()
    )
    if failing:
        endpoint_disable(
            endpoint_id=endpoint_id,
            reason="Every delivery for more than 24 hours has failed.",
        )


def endpoint_disable(*, endpoint_id: int, reason: str) -> bool:
    """Turn the endpoint off (once), give up its pending deliveries (replayable from the log)
    and tell its admins by e-mail after commit."""
    now = timezone.now()
    with transaction.atomic():
        turned_off = (
            WebhookEndpoint.objects.unscoped()
            .filter(pk=endpoint_id, enabled=True)
            .update(enabled=False, disabled_reason=reason[:300], disabled_at=now)
        )
        if not turned_off:
            return False
        WebhookDelivery.objects.unscoped().filter(
            endpoint_id=endpoint_id, status=WebhookDelivery.Status.PENDING
        ).update(
            status=WebhookDelivery.Status.FAILED,
            error="Not sent: the endpoint was disabled.",
        )
        transaction.on_commit(lambda: endpoint_disabled_mail_send(endpoint_id=endpoint_id))
    log.warning("webhooks_out.endpoint.disabled", endpoint_id=endpoint_id, reason=reason)
    return True
