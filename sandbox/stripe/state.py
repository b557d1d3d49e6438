"""Everything the stand-in holds, and the event emission shared by the API, pages and control."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.stripe.clock import Clock
from sandbox.stripe.store import PLATFORM, Store, new_id, public
from sandbox.stripe.webhooks import Dispatcher

API_VERSION = "2025-03-31.basil"
DEFAULT_API_KEY = "sk_test_standin_platform"
DEFAULT_WEBHOOK_SECRET = "whsec_standin_default"  # noqa: S105 (a published sandbox value)
# Smart-Retries-like: days after the first failed attempt; when the last fails the
# subscription is canceled (Stripe's default "cancel the subscription" setting).
RETRY_SCHEDULE_DAYS = (1, 3, 5, 7)


@dataclass
class Config:
    public_url: str
    api_keys: list[str] = field(default_factory=lambda: [DEFAULT_API_KEY])
    platform_name: str = "Stand-in Platform"
    webhook_url: str | None = None
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET
    retry_schedule_days: tuple[int, ...] = RETRY_SCHEDULE_DAYS


@dataclass
class ForcedFailure:
    decline_code: str
    remaining: int | None  # None: until cleared


class StripeState:
    def __init__(self, config: Config, time_factor: float = 1.0) -> None:
        self.config = config
        self._startup = (config.webhook_url, config.webhook_secret, config.retry_schedule_days)
        self.clock = Clock(time_factor)
        self.store = Store()
        self.dispatcher = Dispatcher(self.clock)
        self.idempotency: dict[tuple[str, str, str], dict[str, Any]] = {}
        # Control-API failures: keyed by PaymentMethod id or customer id.
        self.failures: dict[str, ForcedFailure] = {}

    def reset(self) -> None:
        self.config.webhook_url, self.config.webhook_secret, days = self._startup
        self.config.retry_schedule_days = days
        self.clock.reset()
        self.store = Store()
        self.dispatcher.reset()
        self.idempotency.clear()
        self.failures.clear()

    def now(self) -> int:
        return self.clock.now()

    def url(self, path: str) -> str:
        return f"{self.config.public_url.rstrip('/')}{path}"

    def emit(
        self,
        account: str,
        event_type: str,
        obj: dict[str, Any],
        previous: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Record an event in the account's space and send it to the endpoints that want it."""
        data: dict[str, Any] = {"object": public(obj)}
        if previous:
            data["previous_attributes"] = public(previous)
        event: dict[str, Any] = {
            "id": new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 0,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        if account != PLATFORM:
            event["account"] = account
        targets = [
            (endpoint["url"], endpoint["_secret"])
            for endpoint in self.store.all(PLATFORM, "webhook_endpoint")
            if endpoint["status"] == "enabled"
            and bool(endpoint.get("_connect")) == (account != PLATFORM)
            and ("*" in endpoint["enabled_events"] or event_type in endpoint["enabled_events"])
        ]
        if self.config.webhook_url:
            targets.append((self.config.webhook_url, self.config.webhook_secret))
        event["pending_webhooks"] = len(targets)
        self.store.add(account, event)
        for url, secret in targets:
            self.dispatcher.send(public(event), url, secret, account or None)
        return event
