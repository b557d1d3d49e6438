"""One error envelope for every failure of the API:

    {"error": {"code": "not_found", "message": "Not found.", "details": {...}}}

`code` is stable and machine-readable, `message` is for people, `details` (optional) carries
field errors or limits. Unexpected exceptions become a logged 500 in the same shape, and URLs no
API route matches get a 404 in it too (`api_not_found`)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from ..errors import ApplicationError, NotEntitled, NotFound
from ..logging import get_logger

log = get_logger(__name__)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class UnknownParameter(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Unknown query parameter."
    default_code = "unknown_parameter"


class UpstreamError(exceptions.APIException):
    """The CRM behind the platform refused or failed; nothing was changed on our side."""

    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = "The CRM did not complete the request; nothing was changed."
    default_code = "upstream_error"


class ApiError(exceptions.APIException):
    """A refusal with a chosen status, code, message and optional details."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status_code: int = 400,
        details: Any = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message, code)
        self.status_code = status_code
        self.details = details
        if retry_after is not None:
            self.wait = retry_after


VALIDATION_MESSAGE = "The request is not valid; see details."


def _message_and_details(exc: exceptions.APIException) -> tuple[str, Any]:
    detail = exc.detail
    if isinstance(exc, ApiError):
        return str(detail), exc.details
    if isinstance(detail, dict | list):
        return VALIDATION_MESSAGE, detail
    return str(detail), None


def _code(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return "invalid"
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else str(exc.default_code)


def envelope(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return {"error": body}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every exception, expected or not, answered in the envelope."""
    if isinstance(exc, Http404 | NotFound):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    elif isinstance(exc, NotEntitled):
        exc = ApiError(exc.message, code="not_entitled", status_code=403, details=exc.extra)
    elif isinstance(exc, ApplicationError):
        exc = ApiError(exc.message, code="invalid", details=exc.extra.get("errors"))
    if not isinstance(exc, exceptions.APIException):
        view = context.get("view")
        log.exception("api.unhandled_error", view=type(view).__name__ if view else None)
        set_rollback()
        return Response(
            envelope("server_error", "Something went wrong on our side; please retry later."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    headers: dict[str, str] = {}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    wait = getattr(exc, "wait", None)
    if wait is not None:
        headers["Retry-After"] = str(max(1, int(wait + 0.999)))
    message, details = _message_and_details(exc)
    set_rollback()
    return Response(envelope(_code(exc), message, details), status=exc.status_code, headers=headers)


@csrf_exempt  # no cookie session here: a key-authenticated POST to a bad path is a 404, not CSRF
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Paths under the API prefix that no route matches: a 404 in the envelope, not HTML."""
    return JsonResponse(envelope("not_found", "No such API endpoint."), status=404)
