"""GHL's token endpoint (REFERENCE §1.2): exchanging an authorization code and refreshing a pair.

Refresh tokens are single use: whoever calls `refresh` must persist the returned pair before
anything else can use it (the vault does, under a row lock)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from django.utils import timezone

from .config import GhlApp, ghl_app
from .errors import GhlError
from .governor import Observation, Priority
from .transport import Call, Record, RetryPolicy, SyncDriver, Wiring, execute

TOKEN_PATH = "/oauth/token"  # noqa: S105 — a URL path, not a secret


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    refresh_token: str
    expires_at: datetime
    user_type: str  # "Company" or "Location"
    company_id: str
    location_id: str
    scopes: str
    user_id: str
    plan_id: str
    approved_locations: tuple[str, ...]
    is_bulk: bool
    install_to_future_locations: bool
    approve_all_locations: bool

    @classmethod
    def from_response(cls, body: Mapping[str, Any], *, user_type: str | None = None) -> TokenGrant:
        if not isinstance(body, Mapping) or not body.get("access_token"):
            raise GhlError("GHL's token answer has no access token.", body=None)
        lifetime = int(body.get("expires_in") or 86399)
        kind = str(body.get("userType") or user_type or "")
        if kind not in ("Company", "Location"):
            kind = "Location" if body.get("locationId") else "Company"
        return cls(
            access_token=str(body["access_token"]),
            refresh_token=str(body.get("refresh_token") or ""),
            expires_at=timezone.now() + timedelta(seconds=lifetime),
            user_type=kind,
            company_id=str(body.get("companyId") or ""),
            location_id=str(body.get("locationId") or ""),
            scopes=str(body.get("scope") or ""),
            user_id=str(body.get("userId") or ""),
            plan_id=str(body.get("planId") or ""),
            approved_locations=tuple(str(x) for x in body.get("approvedLocations") or ()),
            is_bulk=bool(body.get("isBulkInstallation")),
            install_to_future_locations=bool(body.get("installToFutureLocations")),
            approve_all_locations=bool(body.get("approveAllLocations")),
        )

    def __repr__(self) -> str:  # never print the tokens
        return f"<TokenGrant {self.user_type} {self.company_id}/{self.location_id}>"


class _NoGovernor:
    """The token endpoint has no bearer token, so no per-location budget to govern."""

    def wait_turn(
        self, resource: str, priority: Priority, *, observed: Observation | None = None
    ) -> None:
        return None

    async def wait_turn_async(self, resource: str, priority: Priority) -> None:
        return None

    def observe(self, resource: str, headers: Mapping[str, str], *, status: int) -> None:
        return None

    async def observe_async(
        self, resource: str, headers: Mapping[str, str], *, status: int
    ) -> None:
        return None

    def observation(self, resource: str, headers: Mapping[str, str], *, status: int) -> Observation:
        return Observation(resource, status, "")

    def report(self, observed: Observation) -> None:
        return None


def _token_call(form: dict[str, str], record: Callable[[Record], None]) -> Any:
    app = ghl_app()
    call = Call(
        "POST",
        TOKEN_PATH,
        None,
        form={"client_id": app.client_id, "client_secret": app.client_secret, **form},
        # Never repeat a refresh on a lost answer: GHL may have consumed the refresh token.
        idempotent=form.get("grant_type") == "authorization_code",
        authenticated=False,
    )

    def no_token(*, force: bool, stale: str | None) -> str:
        raise AssertionError("the token endpoint is called without a bearer token")

    wiring = Wiring(resource="", token=no_token, governor=_NoGovernor(), record=record)
    steps = execute(
        call, base_url=app.api_base, priority=Priority.INTERACTIVE, policy=RetryPolicy()
    )
    with httpx.Client(timeout=app.timeout, trust_env=False) as http:
        return SyncDriver(http, wiring).run(steps)


def exchange_code(*, code: str, redirect_uri: str, record: Callable[[Record], None]) -> TokenGrant:
    body = _token_call(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}, record
    )
    return TokenGrant.from_response(body)


def refresh(*, refresh_token: str, user_type: str, record: Callable[[Record], None]) -> TokenGrant:
    body = _token_call(
        {"grant_type": "refresh_token", "refresh_token": refresh_token, "user_type": user_type},
        record,
    )
    return TokenGrant.from_response(body, user_type=user_type)


def consent_url(*, redirect_uri: str, state: str | None, app: GhlApp | None = None) -> str:
    """Where to send an agency user to approve the install (the white-label host)."""
    app = app or ghl_app()
    query = {
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "client_id": app.client_id,
        "scope": " ".join(app.scopes),
    }
    if state:
        query["state"] = state
    return f"{app.marketplace_base}/v2/oauth/chooselocation?{urlencode(query)}"
