"""How a GHL call can fail. Callers catch by kind, never by parsing messages."""

from __future__ import annotations

from typing import Any


class GhlError(Exception):
    """A GHL call failed. `status` is GHL's HTTP status (None: no answer)."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body


class GhlAuthError(GhlError):
    """401/403: the token is invalid, expired or lacks the scope or the resource."""


class GhlInvalidGrant(GhlAuthError):
    """The refresh token was refused (expired, revoked or already used)."""


class GhlLocationInactive(GhlError):
    """GHL paused the location (SaaS sub-account): the same refresh token works once it is back."""


class GhlNotFound(GhlError):
    """404."""


class GhlValidationError(GhlError):
    """400/422: GHL refused the input; `messages` lists its reasons."""

    @property
    def messages(self) -> list[str]:
        raw = self.body.get("message") if isinstance(self.body, dict) else None
        if isinstance(raw, list):
            return [str(m) for m in raw]
        return [str(raw)] if raw else [self.message]


class GhlRateLimited(GhlError):
    """429 even after waiting as the rate headers said (or the daily budget is spent)."""

    retryable = True


class GhlServerError(GhlError):
    """5xx after the bounded retries."""

    retryable = True


class GhlTimeout(GhlError):
    """No answer in time (or the connection broke) after the bounded retries."""

    retryable = True


class GhlNotConnected(GhlError):
    """We hold no usable token for this installation (uninstalled, or needs reconnecting)."""
