"""Webhook delivery as GHL does it (REFERENCE §4).

Each event is a flat JSON object with ``type``, ``appId``, ``timestamp`` and a unique
``webhookId``, serialised compactly once; both signatures are computed over exactly those bytes
and the same bytes are re-sent on retries. Delivery runs on background workers so an API call
never waits for a receiver. Only a 429 answer is retried (after ``retry_delay_s`` of stand-in
time, at most ``max_retries`` times); every other outcome is final: delivered (2xx) or lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx

from sandbox.ghl.clock import Clock, now_iso
from sandbox.ghl.config import MarketplaceApp, WebhookConfig
from sandbox.ghl.keys import SigningKeys
from sandbox.ghl.metrics import Metrics

# The scope an installation needs to receive each event type (REFERENCE §4.4; None = always).
EVENT_SCOPES: dict[str, str | None] = {
    "INSTALL": None,
    "UNINSTALL": None,
    "LocationCreate": "locations.readonly",
    "LocationUpdate": "locations.readonly",
    "AppointmentCreate": "calendars/events.readonly",
    "AppointmentUpdate": "calendars/events.readonly",
    "AppointmentDelete": "calendars/events.readonly",
    "InboundMessage": "conversations/message.readonly",
    "OutboundMessage": "conversations/message.readonly",
    **dict.fromkeys(
        ("ContactCreate", "ContactUpdate", "ContactDelete", "ContactTagUpdate", "ContactDndUpdate"),
        "contacts.readonly",
    ),
    **dict.fromkeys(
        (
            "OpportunityCreate",
            "OpportunityUpdate",
            "OpportunityDelete",
            "OpportunityStageUpdate",
            "OpportunityStatusUpdate",
            "OpportunityMonetaryValueUpdate",
            "OpportunityAssignedToUpdate",
        ),
        "opportunities.readonly",
    ),
}
DEFAULT_URL_ONLY = {"INSTALL", "UNINSTALL"}


@dataclass
class Delivery:
    id: int
    webhook_id: str
    event_type: str
    client_id: str
    resource: str | None
    url: str | None
    body: bytes
    headers: dict[str, str]
    status: str = "queued"  # queued | retrying | delivered | lost | skipped
    attempts: int = 0
    responses: list[int | str] = field(default_factory=list)
    reason: str | None = None
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)

    def to_dict(self, include_body: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "webhookId": self.webhook_id,
            "type": self.event_type,
            "clientId": self.client_id,
            "resource": self.resource,
            "url": self.url,
            "status": self.status,
            "attempts": self.attempts,
            "responses": list(self.responses),
            "reason": self.reason,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }
        if include_body:
            out["body"] = self.body.decode("utf-8")
            out["headers"] = dict(self.headers)
        return out


class WebhookDispatcher:
    def __init__(
        self, config: WebhookConfig, keys: SigningKeys, clock: Clock, metrics: Metrics
    ) -> None:
        self.config = config
        self.keys = keys
        self.clock = clock
        self.metrics = metrics
        self.log: deque[Delivery] = deque(maxlen=10_000)
        self._ids = itertools.count(1)
        self._queue: asyncio.Queue[Delivery] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._timers: set[asyncio.TimerHandle] = set()
        self._in_flight = 0
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.config.timeout_s),
            limits=httpx.Limits(max_connections=max(4, self.config.workers * 2)),
            trust_env=False,
        )
        self._workers = [asyncio.create_task(self._work()) for _ in range(self.config.workers)]

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        if self._client is not None:
            await self._client.aclose()

    def reset(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        if self._queue is not None:
            while not self._queue.empty():
                self._queue.get_nowait()
                self._queue.task_done()
        self.log.clear()

    def backlog(self) -> int:
        """Deliveries queued, being sent or waiting for a retry."""
        queued = self._queue.qsize() if self._queue is not None else 0
        return queued + self._in_flight + len(self._timers)

    def idle(self) -> bool:
        queue_empty = self._queue is None or self._queue.empty()
        return queue_empty and self._in_flight == 0 and not self._timers

    def emit(
        self, app: MarketplaceApp, event_type: str, payload: dict[str, Any], resource: str | None
    ) -> Delivery:
        document: dict[str, Any] = {"type": event_type}
        document.update(payload)
        document.setdefault("appId", app.app_id)
        document["timestamp"] = now_iso()
        document["webhookId"] = str(uuid.uuid4())
        body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        headers = {"content-type": "application/json"}
        if self.config.signatures in ("both", "ed25519"):
            headers["x-ghl-signature"] = self.keys.sign_ed25519(body)
        if self.config.signatures in ("both", "rsa"):
            headers["x-wh-signature"] = self.keys.sign_rsa(body)
        url = app.webhook_url
        if event_type not in DEFAULT_URL_ONLY:
            url = app.event_webhook_urls.get(event_type, url)
        delivery = Delivery(
            id=next(self._ids),
            webhook_id=document["webhookId"],
            event_type=event_type,
            client_id=app.client_id,
            resource=resource,
            url=url,
            body=body,
            headers=headers,
        )
        self.log.append(delivery)
        if not url:
            delivery.status, delivery.reason = "skipped", "no webhook URL configured"
            return delivery
        self.metrics.count(resource, "webhooks_sent")
        if self._queue is not None:
            self._queue.put_nowait(delivery)
        return delivery

    async def _work(self) -> None:
        if self._queue is None:
            raise RuntimeError("dispatcher not started")
        while True:
            delivery = await self._queue.get()
            self._in_flight += 1
            try:
                await self._attempt(delivery)
            finally:
                self._in_flight -= 1
                self._queue.task_done()

    async def _attempt(self, delivery: Delivery) -> None:
        if self._client is None or delivery.url is None:
            raise RuntimeError("dispatcher not started, or delivery without URL")
        delivery.attempts += 1
        self.metrics.count(delivery.resource, "webhook_attempts")
        try:
            response = await self._client.post(
                delivery.url,
                content=delivery.body,
                headers=delivery.headers,
                timeout=self.config.timeout_s,
            )
        except httpx.TimeoutException:
            self._finish(delivery, "lost", "timeout", "timeout")
            return
        except httpx.HTTPError as exc:
            self._finish(delivery, "lost", f"connection error: {type(exc).__name__}", "error")
            return
        delivery.responses.append(response.status_code)
        if 200 <= response.status_code < 300:
            self._finish(delivery, "delivered", None, None)
        elif response.status_code == 429 and delivery.attempts <= self.config.max_retries:
            delivery.status, delivery.updated_at = "retrying", now_iso()
            self.metrics.count(delivery.resource, "webhook_retries")
            self._schedule_retry(delivery)
        elif response.status_code == 429:
            self._finish(delivery, "lost", "429 after the last retry", None)
        else:
            self._finish(delivery, "lost", f"HTTP {response.status_code} (not retried)", None)

    def _schedule_retry(self, delivery: Delivery) -> None:
        loop = asyncio.get_running_loop()

        def requeue() -> None:
            self._timers.discard(handle)
            if self._queue is not None:
                self._queue.put_nowait(delivery)

        handle = loop.call_later(self.clock.to_real(self.config.retry_delay_s), requeue)
        self._timers.add(handle)

    def _finish(
        self, delivery: Delivery, status: str, reason: str | None, response: str | None
    ) -> None:
        if response is not None:
            delivery.responses.append(response)
        delivery.status, delivery.reason, delivery.updated_at = status, reason, now_iso()
        counter = "webhooks_delivered" if status == "delivered" else "webhooks_lost"
        self.metrics.count(delivery.resource, counter)
