"""Receiving one GHL webhook delivery: what the endpoint does, whichever way the request came.

`receive` holds the whole decision — content type, size cap, signature, payload checks, the
durable INSERT — and returns the answer; the Django view (`views.webhook`) and the WSGI fast path
(`WebhookFastPath`) only translate a request into its arguments and the answer into a response.

The fast path exists because GHL sends every event of every location of every agency to this one
URL, so its cost per request is the platform's ingestion ceiling: served by Django, even without
the browser middleware, a delivery cost about 180 µs of request machinery on top of the ~170 µs
gunicorn itself takes. The fast path answers POSTs to the webhook URL on the platform's hosts
directly, sending Django's request_started / request_finished signals so database connections
are managed exactly as for any request; anything else goes to Django untouched."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from integrations.inbox.models import InboundEvent
from integrations.inbox.services import inbound_event_store
from saas_platform.kernel.logging import get_logger
from tenants.selectors import is_platform_host, normalize_host

from .webhooks import ED25519_HEADER, RSA_HEADER, WebhookRejected, verify

log = get_logger(__name__)

WEBHOOK_PATH = "/integrations/ghl/webhooks"
RETRY_AFTER = "60"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    retry_after: str | None = None


ACCEPTED = Answer(200, b'{"status":"accepted"}')
DUPLICATE = Answer(200, b'{"status":"duplicate"}')


def _refused(reason: str, status: int) -> Answer:
    return Answer(status, json.dumps({"error": reason}).encode())


def _retry_later(reason: str) -> Answer:
    return Answer(429, json.dumps({"error": reason}).encode(), RETRY_AFTER)


def receive(
    *,
    content_type: str,
    content_length: str | None,
    read_body: Callable[[int], bytes],
    headers: Mapping[str, str],
) -> Answer:
    """2xx only once the event is stored durably; 429 when it cannot be (GHL retries only 429s);
    every refusal of bad input is a 4xx that stores nothing. The body is read only once its
    declared length is known to be within the cap."""
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        return _refused("expected application/json", 415)
    try:
        length = int(content_length or 0)
    except ValueError:
        return _refused("bad Content-Length", 400)
    if length < 0:
        return _refused("bad Content-Length", 400)
    if length > settings.GHL_WEBHOOK_MAX_BYTES:
        return _refused("body too large", 413)
    body = read_body(length) if length else b""
    try:
        event = verify(body, headers)
    except WebhookRejected as exc:
        log.info("ghl.webhook.rejected", reason=exc.reason, status=exc.status)
        return _refused(exc.reason, exc.status)
    except ImproperlyConfigured as exc:  # our keys are broken: ask GHL to retry, lose nothing
        log.error("ghl.webhook.keys_misconfigured", error=str(exc))
        return _retry_later("temporarily unable to verify events")
    try:
        # One INSERT in autocommit: durable once it returns, one round trip to the database.
        stored = inbound_event_store(
            source=InboundEvent.Source.GHL,
            event_id=event.event_id,
            event_type=event.event_type,
            body=body,
            company_id=event.company_id,
            location_id=event.location_id,
            entity_id=event.entity_id,
            occurred_at=event.occurred_at,
            signature_kind=event.signature_kind,
        )
    except DatabaseError as exc:
        log.error("ghl.webhook.store_failed", event_id=event.event_id, error=str(exc))
        return _retry_later("temporarily unable to store the event")
    return ACCEPTED if stored else DUPLICATE


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class WebhookFastPath:
    """WSGI middleware in front of Django: POSTs to the webhook URL on a platform host are
    answered by `receive`; every other request (another host, path or method) goes to Django,
    which answers them as before (404 on an agency domain, 405 for a GET)."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if (
            environ.get("PATH_INFO") != WEBHOOK_PATH
            or environ.get("REQUEST_METHOD") != "POST"
            or not is_platform_host(normalize_host(environ.get("HTTP_HOST", "")))
        ):
            return self.app(environ, start_response)
        signals.request_started.send(sender=self.__class__, environ=environ)
        try:
            answer = receive(
                content_type=environ.get("CONTENT_TYPE", ""),
                content_length=environ.get("CONTENT_LENGTH"),
                read_body=environ["wsgi.input"].read,
                headers={
                    ED25519_HEADER: environ.get("HTTP_X_GHL_SIGNATURE", ""),
                    RSA_HEADER: environ.get("HTTP_X_WH_SIGNATURE", ""),
                },
            )
        except Exception:  # a bug must not lose the event: GHL retries a 429, never a 500
            log.exception("ghl.webhook.crashed")
            answer = _retry_later("temporarily unable to take the event")
        finally:
            signals.request_finished.send(sender=self.__class__)
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(answer.body))),
            ("X-Content-Type-Options", "nosniff"),
        ]
        if answer.retry_after:
            headers.append(("Retry-After", answer.retry_after))
        start_response(f"{answer.status} {HTTPStatus(answer.status).phrase}", headers)
        return [answer.body]
