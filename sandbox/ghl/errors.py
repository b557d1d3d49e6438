"""GHL's error envelope (REFERENCE §2.3) as an exception the request pipeline renders."""

from __future__ import annotations

from typing import Any

REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}

INVALID_TOKEN = "Invalid token: access token is invalid"  # noqa: S105 (a message)
NO_LOCATION_ACCESS = "The token does not have access to this location"
SCOPE_NOT_AUTHORIZED = "The token is not authorized for this scope."
AUTH_CLASS_NOT_ALLOWED = (
    "This authClass type is not allowed to access this scope. "
    "Please reach out to the Platform team to get it added."
)
INVALID_REFRESH = "Invalid grant: refresh token is invalid"
INVALID_CODE = "Invalid grant: authorization code is invalid"
LOCATION_NOT_ACTIVE = "Location is not active"


class ApiError(Exception):
    """An error answered with the GHL envelope ``{statusCode, message, error}``."""

    def __init__(
        self,
        status: int,
        message: str | list[str] | None = None,
        *,
        extra: dict[str, Any] | None = None,
        include_error: bool = True,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message: str | list[str] = message if message is not None else REASONS[status]
        self.extra = extra or {}
        self.include_error = include_error

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"statusCode": self.status, "message": self.message}
        if self.include_error and self.status in REASONS and self.status != 429:
            out["error"] = REASONS[self.status]
        out.update(self.extra)
        return out


def bad_request(message: str, **extra: Any) -> ApiError:
    return ApiError(400, message, extra=extra or None)


def unprocessable(*messages: str) -> ApiError:
    return ApiError(422, list(messages))


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def forbidden(message: str = NO_LOCATION_ACCESS) -> ApiError:
    return ApiError(403, message)


def unauthorized(message: str = INVALID_TOKEN) -> ApiError:
    return ApiError(401, message)
