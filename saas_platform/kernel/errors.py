"""The error types services raise; interfaces (views, API, admin, commands) translate them."""

from typing import Any


class ApplicationError(Exception):
    """A refusal with a message fit to show the person who asked (bad input, a rule broken)."""

    def __init__(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class NotFound(ApplicationError):
    """The object does not exist *or* belongs to another tenant: callers cannot tell which."""


class UnscopedQueryError(RuntimeError):
    """A tenant-owned model was queried without a tenant scope: a programming error, never
    something to show a user."""


class NotEntitled(ApplicationError):
    """The location's plan leaves the feature out, its billing is paused, or the plan's limit is
    reached. The API answers it with a 403; pages show its message with a link to billing."""

    def __init__(self, message: str, *, feature: str, reason: str, limit: int | None = None):
        super().__init__(message, extra={"feature": feature, "reason": reason, "limit": limit})
        self.feature, self.reason, self.limit = feature, reason, limit
