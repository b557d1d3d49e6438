"""Events and their delivery to webhook endpoints, signed as Stripe signs them.

``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``. An endpoint made on
the platform with ``connect=true`` receives its connected accounts' events (which carry an
``account`` field); one without receives the platform's own. The control API's default endpoint
receives both. Deliveries run on a background worker so no API call waits for a receiver; a
non-2xx answer is retried on a short schedule of stand-in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from sandbox.stripe.clock import Clock

RETRY_DELAYS = (60, 300, 1800)  # stand-in seconds between attempts


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


@dataclass
class Delivery:
    id: int
    event_id: str
    event_type: str
    account: str | None
    url: str
    body: bytes
    secret: str
    generation: int = 0
    status: str = "queued"  # queued | retrying | delivered | failed
    attempts: int = 0
    responses: list[int | str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event": self.event_id,
            "type": self.event_type,
            "account": self.account,
            "url": self.url,
            "status": self.status,
            "attempts": self.attempts,
            "responses": list(self.responses),
            "payload": json.loads(self.body),
        }


class Dispatcher:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.deliveries: list[Delivery] = []
        # Bumped by reset: deliveries still queued from before are dropped, so one test's
        # events never reach the next test's receiver.
        self.generation = 0
        self._queue: asyncio.Queue[Delivery] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._client = httpx.AsyncClient(timeout=10, trust_env=False)
        self._worker = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        if self._client is not None:
            await self._client.aclose()

    def reset(self) -> None:
        self.deliveries.clear()
        self.generation += 1

    def send(self, event: dict[str, Any], url: str, secret: str, account: str | None) -> Delivery:
        body = json.dumps(event, indent=2).encode()
        delivery = Delivery(
            len(self.deliveries) + 1,
            event["id"],
            event["type"],
            account,
            url,
            body,
            secret,
            self.generation,
        )
        self.deliveries.append(delivery)
        if self._queue is not None:
            self._queue.put_nowait(delivery)
        return delivery

    async def _run(self) -> None:
        if self._queue is None:
            return
        while True:
            delivery = await self._queue.get()
            if delivery.generation == self.generation:
                await self._attempt(delivery)

    async def _attempt(self, delivery: Delivery) -> None:
        if self._client is None or self._queue is None:
            return
        delivery.attempts += 1
        # Signed at send time, per attempt, as Stripe does (a fresh t on each retry).
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": sign(delivery.secret, delivery.body),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        try:
            response = await self._client.post(delivery.url, content=delivery.body, headers=headers)
            outcome: int | str = response.status_code
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
        delivery.responses.append(outcome)
        if isinstance(outcome, int) and 200 <= outcome < 300:
            delivery.status = "delivered"
            return
        if delivery.attempts > len(RETRY_DELAYS):
            delivery.status = "failed"
            return
        delivery.status = "retrying"
        delay = self.clock.to_real(RETRY_DELAYS[delivery.attempts - 1])
        queue = self._queue
        asyncio.get_running_loop().call_later(delay, queue.put_nowait, delivery)
