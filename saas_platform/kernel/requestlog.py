"""Per-request context for logs and metrics: a request id (the load balancer's, when it sent a sane
one), the tenant and user bound to every log line of the request, one ``http.request`` line when
it ends, and its latency observed for ``/metrics``."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from .logging import get_logger
from .metrics import observe_request

log = get_logger("http")

REQUEST_ID_HEADER = "HTTP_X_REQUEST_ID"
# A forwarded id is echoed into logs and headers, so only a short, plain token is trusted.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Probes would drown the access log; they are still counted in the metrics.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def request_id_for(request: HttpRequest) -> str:
    offered = request.META.get(REQUEST_ID_HEADER, "")
    return offered if _SAFE_ID.match(offered) else uuid.uuid4().hex


def route_of(request: HttpRequest) -> str:
    """The URL *pattern* (``app/l/<int:location_id>/contacts/``): ids in paths would give the
    latency metric one series per object."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info, getattr(request, "urlconf", None))
        except Resolver404:
            return "unmatched"
    return match.route or "unmatched"


class RequestContextMiddleware:
    """Outermost middleware, so its clock covers the whole stack."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = request_id_for(request)
        request.request_id = request_id  # type: ignore[attr-defined]
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            response = self.get_response(request)
        except Exception:
            # Django turns view errors into responses; only middleware bugs reach here.
            log.exception("http.request.crashed", method=request.method, path=request.path)
            raise
        finally:
            elapsed = time.perf_counter() - started
        response["X-Request-ID"] = request_id
        route = route_of(request)
        observe_request(method=request.method or "", route=route, status=response.status_code,
                        seconds=elapsed)  # fmt: skip
        if request.path not in QUIET_PATHS:
            log.info(
                "http.request",
                method=request.method,
                route=route,
                status=response.status_code,
                duration_ms=round(elapsed * 1000, 1),
            )
        structlog.contextvars.clear_contextvars()
        return response

    def process_view(self, request: HttpRequest, *_: Any) -> None:
        """By now the tenancy and authentication middleware have run: bind who is asking."""
        bind_requester(request)


def bind_requester(request: HttpRequest) -> None:
    """The tenant and user of the request on every later log line."""
    agency = getattr(request, "agency", None)
    user = getattr(request, "user", None)
    structlog.contextvars.bind_contextvars(
        agency_id=getattr(agency, "pk", None),
        user_id=getattr(user, "pk", None),
    )
