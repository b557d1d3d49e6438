"""Stand-in configuration: marketplace apps, token lifetimes, rate limits, time, webhooks.

Loaded from an optional JSON file and CLI flags, and changeable at runtime through
``POST /_sandbox/config`` (partial updates, same shape as :meth:`SandboxConfig.to_dict`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

# The scopes the product asks for (REFERENCE §1.8 minimum set plus agency and installer scopes).
PRODUCT_SCOPES: tuple[str, ...] = (
    "contacts.readonly",
    "contacts.write",
    "opportunities.readonly",
    "opportunities.write",
    "calendars.readonly",
    "calendars.write",
    "calendars/events.readonly",
    "calendars/events.write",
    "conversations.readonly",
    "conversations.write",
    "conversations/message.readonly",
    "conversations/message.write",
    "locations.readonly",
    "locations/customFields.readonly",
    "locations/customFields.write",
    "locations/tags.readonly",
    "locations/tags.write",
    "users.readonly",
    "oauth.readonly",
    "oauth.write",
    "marketplace-installer-details.readonly",
)


@dataclass
class MarketplaceApp:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    scopes: list[str] = field(default_factory=lambda: list(PRODUCT_SCOPES))
    webhook_url: str | None = None
    # Per-event override URLs (the developer portal allows one per event); INSTALL/UNINSTALL
    # always go to the default URL.
    event_webhook_urls: dict[str, str] = field(default_factory=dict)
    name: str = "Sandbox App"
    version_id: str = "66d0a1b2c3d4e5f601230001"
    plan_id: str | None = None
    # The app's "Shared Secret" (SSO key): encrypts the user context of custom menu pages.
    sso_shared_secret: str = "sandbox-only-sso-shared-secret"  # noqa: S105 (published sandbox value)

    @property
    def app_id(self) -> str:
        # GHL's SDKs derive the app id as the client id's part before the first dash.
        return self.client_id.split("-", 1)[0]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MarketplaceApp:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown app keys: {sorted(unknown)}")
        for key in ("client_id", "client_secret", "redirect_uris"):
            if key not in data:
                raise ValueError(f"app is missing {key}")
        return cls(**data)


@dataclass
class RateLimitConfig:
    burst_max: int = 100
    burst_window_s: float = 10.0
    daily_limit: int = 200_000
    unlimited: bool = False


@dataclass
class WebhookConfig:
    # GHL retries only after a 429 answer: up to 6 times, about 10 minutes apart (REFERENCE §4.1).
    retry_delay_s: float = 600.0
    max_retries: int = 6
    # Real seconds; GHL's own timeout is undocumented.
    timeout_s: float = 10.0
    # "both", "ed25519" or "rsa": which signature headers to send.
    signatures: str = "both"
    workers: int = 8


@dataclass
class SandboxConfig:
    apps: dict[str, MarketplaceApp] = field(default_factory=dict)
    access_token_ttl_s: int = 86399
    refresh_token_ttl_s: int = 365 * 86400
    code_ttl_s: int = 600
    time_factor: float = 1.0
    rate_limits: RateLimitConfig = field(default_factory=RateLimitConfig)
    webhooks: WebhookConfig = field(default_factory=WebhookConfig)
    # NestJS "forbidNonWhitelisted": answer 422 "property x should not exist" for any field the
    # spec does not declare. Off by default: only additionalProperties:false is enforced.
    reject_unknown_fields: bool = False
    request_log_size: int = 5000
    fault_seed: int = 1

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["apps"] = {cid: asdict(app) | {"app_id": app.app_id} for cid, app in self.apps.items()}
        return out

    def update(self, data: dict[str, Any]) -> None:
        """Apply a partial update; unknown keys are an error so typos do not pass silently."""
        scalar = {"access_token_ttl_s", "refresh_token_ttl_s", "code_ttl_s", "time_factor"}
        scalar |= {"reject_unknown_fields", "request_log_size", "fault_seed"}
        for key, value in data.items():
            if key in scalar:
                setattr(self, key, type(getattr(self, key))(value))
            elif key == "rate_limits":
                _update_dataclass(self.rate_limits, value)
            elif key == "webhooks":
                _update_dataclass(self.webhooks, value)
                if self.webhooks.signatures not in ("both", "ed25519", "rsa"):
                    raise ValueError("webhooks.signatures must be both, ed25519 or rsa")
            elif key == "apps":
                apps = value.values() if isinstance(value, dict) else value
                for app_data in apps:
                    self.add_app(MarketplaceApp.from_dict(app_data))
            else:
                raise ValueError(f"unknown config key: {key}")
        if self.time_factor <= 0:
            raise ValueError("time_factor must be positive")

    def add_app(self, app: MarketplaceApp) -> None:
        self.apps[app.client_id] = app

    def app_by_app_id(self, app_id: str) -> MarketplaceApp | None:
        for app in self.apps.values():
            if app.app_id == app_id:
                return app
        return None

    @classmethod
    def load(cls, path: Path | None) -> SandboxConfig:
        config = cls()
        if path is not None:
            config.update(json.loads(path.read_text(encoding="utf-8")))
        return config


def _update_dataclass(target: Any, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if not hasattr(target, key):
            raise ValueError(f"unknown config key: {key}")
        current = getattr(target, key)
        setattr(target, key, type(current)(value) if current is not None else value)
