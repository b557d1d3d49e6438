"""Endpoints that other servers call (signed webhooks), never a browser.

Such a request needs none of the browser machinery: no session, no CSRF token, no logged-in
user, no flash messages, no clickjacking header. `MachineEndpointMiddleware`, placed right after
the host and security middleware, hands a POST for a view marked `@machine_endpoint` straight to
that view, so the rest of the chain costs a webhook nothing; every other request goes on as
usual. Host routing (TenantMiddleware) and the security middleware still run first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, get_resolver, set_urlconf
from django.views.decorators.csrf import csrf_exempt

View = Callable[..., HttpResponse]


def machine_endpoint(view: View) -> View:
    """Mark a view as served to other servers only (it is CSRF-exempt, and sees no session
    and no `request.user`)."""
    marked = csrf_exempt(view)
    marked.machine_endpoint = True  # type: ignore[attr-defined]
    return marked


class MachineEndpointMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST":
            urlconf: Any = getattr(request, "urlconf", None)
            try:
                match = get_resolver(urlconf).resolve(request.path_info)
            except Resolver404:
                match = None
            if match is not None and getattr(match.func, "machine_endpoint", False):
                if urlconf is not None:
                    set_urlconf(urlconf)  # as Django's handler does, for reverse() in the view
                request.resolver_match = match
                response = match.func(request, *match.args, **match.kwargs)
                if response is None:
                    raise ValueError(f"{match.view_name} returned no response")
                return response  # type: ignore[no-any-return]
        return self.get_response(request)
