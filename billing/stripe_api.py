"""The one door to Stripe: the official SDK, unchanged, pointed at `STRIPE_API_BASE` (Stripe, or
the local stand-in) over httpx with a timeout, and an error taxonomy callers catch by kind.

Calls on an agency's connected account pass `stripe_account` (the `Stripe-Account` header);
every create passes an idempotency key derived from our own row, so a retry never creates twice."""

from __future__ import annotations

from typing import Any

import stripe
from django.conf import settings

from saas_platform.kernel.errors import ApplicationError


class StripeCallError(Exception):
    """A Stripe call failed. `retryable`: try again later (network, 429, 5xx)."""

    def __init__(self, message: str, *, status: int | None, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable


class StripeRefused(ApplicationError):
    """Stripe refused the input (400/402/404): a message fit for the person who asked."""


def client() -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key=settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        http_client=stripe.HTTPXClient(
            timeout=settings.STRIPE_HTTP_TIMEOUT_SECONDS, allow_sync_methods=True
        ),
        # Our own retries (the inbox, Celery) decide; the SDK's would hide a slow Stripe.
        max_network_retries=0,
    )


def options(*, account: str | None = None, idempotency_key: str | None = None) -> Any:
    """Request options: the connected account and the idempotency key, when given."""
    opts: dict[str, str] = {}
    if account:
        opts["stripe_account"] = account
    if idempotency_key:
        opts["idempotency_key"] = idempotency_key
    return opts


def translate(exc: stripe.StripeError) -> Exception:
    """A Stripe SDK error as one of ours."""
    status = exc.http_status
    message = exc.user_message or str(exc) or type(exc).__name__
    if isinstance(exc, stripe.InvalidRequestError | stripe.CardError) and status in (
        400,
        402,
        404,
    ):
        return StripeRefused(f"Stripe refused this: {message}")
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        return StripeCallError(f"Stripe refused our key: {message}", status=status, retryable=False)
    retryable = isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError) or (
        status is not None and status >= 500
    )
    return StripeCallError(message, status=status, retryable=retryable)


def value(obj: Any, *path: str, default: Any = None) -> Any:
    """A nested field of a Stripe object or dict (`value(sub, "items", "data")`)."""
    for key in path:
        if obj is None:
            return default
        try:
            obj = obj[key]
        except (KeyError, IndexError, TypeError):
            return default
    return default if obj is None else obj
