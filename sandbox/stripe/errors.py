"""Stripe's error shape: ``{"error": {"type", "code", "message", "param", ...}}`` plus a status.

Types and statuses as Stripe documents them: invalid_request_error (400, 404 for missing
objects), authentication_error (401), card_error (402), idempotency_error (400),
api_error (500); 403 for an account the key may not act on.
"""

from __future__ import annotations

from typing import Any

DOCS = "https://stripe.com/docs/error-codes"


class StripeError(Exception):
    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"type": type_, "message": message}
        if code:
            self.body["code"] = code
            self.body["doc_url"] = f"{DOCS}/{code.replace('_', '-')}"
        if param:
            self.body["param"] = param
        self.body.update({key: value for key, value in extra.items() if value is not None})

    def to_dict(self) -> dict[str, Any]:
        return {"error": dict(self.body)}


def invalid(message: str, param: str | None = None, code: str | None = None) -> StripeError:
    return StripeError(400, "invalid_request_error", message, code=code, param=param)


def missing_param(param: str) -> StripeError:
    return invalid(f"Missing required param: {param}.", param, "parameter_missing")


def unknown_param(param: str) -> StripeError:
    return invalid(f"Received unknown parameter: {param}", param, "parameter_unknown")


def no_such(kind: str, object_id: str, param: str = "id") -> StripeError:
    return StripeError(
        404,
        "invalid_request_error",
        f"No such {kind}: '{object_id}'",
        code="resource_missing",
        param=param,
    )


def card_error(
    message: str, code: str, decline_code: str | None = None, **extra: Any
) -> StripeError:
    return StripeError(402, "card_error", message, code=code, decline_code=decline_code, **extra)
