"""The behaviour every API view shares, on top of DRF's: the body size limit (413), the
``Idempotency-Key`` claim on POST after authentication and throttling, and the rate headers."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.request import Request
from rest_framework.response import Response

from .errors import PayloadTooLarge
from .idempotency import Claim, Replay, idempotency_claim, idempotency_record
from .throttle import add_rate_headers

CLAIM_ATTR = "_api_idempotency_claim"


def max_body_bytes() -> int:
    return int(getattr(settings, "API_MAX_BODY_BYTES", 64 * 1024))


def check_body_size(request: HttpRequest) -> None:
    limit = max_body_bytes()
    raw = request.META.get("CONTENT_LENGTH") or "0"
    declared = int(raw) if raw.isascii() and raw.isdigit() else 0
    try:
        too_large = declared > limit or len(request.body) > limit
    except RequestDataTooBig:  # larger than even Django's own ceiling
        too_large = True
    if too_large:
        raise PayloadTooLarge(
            f"The request body is larger than {limit} bytes.", code="payload_too_large"
        )


class ApiViewMixin:
    """Mix into an APIView/ViewSet before DRF's class."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # A method the resource lacks is a 405 for everyone, not a 403 for a read-only key.
        method = request.method or ""
        if not hasattr(self, method.lower()):
            raise MethodNotAllowed(method)
        if request.method in ("POST", "PUT", "PATCH"):
            check_body_size(request._request)
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        if request.method == "POST" and request.auth is not None:
            claim = idempotency_claim(request=request, owner=f"key:{request.auth.pk}")
            setattr(request, CLAIM_ATTR, claim)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, Replay):
            return exc.response
        response: Response = super().handle_exception(exc)  # type: ignore[misc]
        return response

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        claim: Claim | None = getattr(request, CLAIM_ATTR, None)
        if claim is not None and isinstance(response, Response):
            idempotency_record(claim=claim, response=response)
            setattr(request, CLAIM_ATTR, None)
        if isinstance(response, Response):
            add_rate_headers(request, response)
            # Tenant data: no shared cache (proxy, CDN) may keep or serve it to anyone else.
            response.setdefault("Cache-Control", "private, no-store")
        final: Response = super().finalize_response(  # type: ignore[misc]
            request, response, *args, **kwargs
        )
        return final
