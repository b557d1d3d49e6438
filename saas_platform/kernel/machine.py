"""Endpoints that programs call, never a browser: signed webhooks from other servers, and the
REST API, which authenticates a key sent in a header (never a cookie).

Such a request needs none of the browser machinery: no session, no CSRF token, no logged-in
user, no flash messages, no clickjacking header. `MachineEndpointMiddleware`, placed right after
the host and security middleware, hands a POST for a view marked `@machine_endpoint`, and any
request under ``/api/`` for a view marked `@api_endpoint`, straight to that view, so the rest of
the chain costs them nothing (about half of an API list's request time went there, P9); every
other request goes on as usual. Host routing (TenantMiddleware), the security middleware and the
Content-Security-Policy still run first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, get_resolver, set_urlconf
from django.views.decorators.csrf import csrf_exempt

from .requestlog import bind_requester

View = Callable[..., HttpResponse]
API_PATH_PREFIX = "/api/"


def machine_endpoint(view: View) -> View:
    """Mark a view as served to other servers only (it is CSRF-exempt, and sees no session
    and no `request.user`)."""
    marked = csrf_exempt(view)
    marked.machine_endpoint = True  # type: ignore[attr-defined]
    return marked


def api_endpoint(view: View) -> View:
    """Mark a view under ``/api/`` that authenticates by a key in a header only: every method
    skips the browser middleware (it is CSRF-exempt, and sees no session and no `request.user`
    until its own authentication sets one)."""
    marked = csrf_exempt(view)
    marked.api_endpoint = True  # type: ignore[attr-defined]
    return marked


class MachineEndpointMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        post = request.method == "POST"
        if post or request.path_info.startswith(API_PATH_PREFIX):
            urlconf: Any = getattr(request, "urlconf", None)
            try:
                match = get_resolver(urlconf).resolve(request.path_info)
            except Resolver404:
                match = None
            if match is not None and (
                getattr(match.func, "api_endpoint", False)
                or (post and getattr(match.func, "machine_endpoint", False))
            ):
                return self._serve(request, match, urlconf)
        return self.get_response(request)

    @staticmethod
    def _serve(request: HttpRequest, match: Any, urlconf: Any) -> HttpResponse:
        """What Django's handler does around a view, less the middleware."""
        if urlconf is not None:
            set_urlconf(urlconf)  # as Django's handler does, for reverse() in the view
        request.resolver_match = match
        bind_requester(request)
        response = match.func(request, *match.args, **match.kwargs)
        if response is None:
            raise ValueError(f"{match.view_name} returned no response")
        render = getattr(response, "render", None)
        if callable(render):  # DRF's Response renders late, like a TemplateResponse
            response = render()
        # As CommonMiddleware would: keep-alive clients need the length, not chunks.
        if not response.streaming and not response.has_header("Content-Length"):
            response.headers["Content-Length"] = str(len(response.content))
        return response  # type: ignore[no-any-return]
