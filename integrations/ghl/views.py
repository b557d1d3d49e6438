"""HTTP interfaces of the GHL adapter: "Connect HighLevel", the OAuth callback, the webhook."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from saas_platform.kernel.errors import ApplicationError
from saas_platform.kernel.logging import get_logger
from saas_platform.kernel.machine import machine_endpoint
from tenants import selectors as tenant_selectors
from tenants.admin.scoping import can_change
from tenants.request import actor

from . import install
from .receiver import receive

log = get_logger(__name__)

INSTALLATIONS_ADMIN = "/admin/integrations/ghlinstallation/"


@require_GET
def connect_start(request: HttpRequest) -> HttpResponse:
    """On an agency's domain: start the OAuth flow for this agency (owners and admins)."""
    agency = getattr(request, "agency", None)
    if agency is None or not can_change(request):
        return HttpResponseRedirect(f"/admin/login/?next={request.path}")
    return HttpResponseRedirect(install.oauth_start(agency=agency, user=actor(request)))


@require_GET
def oauth_callback(request: HttpRequest) -> HttpResponse:
    """On the platform host (the registered redirect URI): finish the install, then send the
    person to their agency's own admin."""
    if request.GET.get("error"):
        return _install_failed(request, "The connection was cancelled in HighLevel.")
    try:
        outcome = install.oauth_callback(
            code=request.GET.get("code", ""), state=request.GET.get("state") or None
        )
    except ApplicationError as exc:
        return _install_failed(request, exc.message)
    return HttpResponseRedirect(
        tenant_selectors.agency_portal_url(outcome.agency, INSTALLATIONS_ADMIN)
    )


def _install_failed(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "integrations/install_failed.html", {"message": message}, status=400)


@machine_endpoint
@require_POST
def webhook(request: HttpRequest) -> HttpResponse:
    """GHL's webhook endpoint (see `receiver`; production traffic takes its WSGI fast path)."""
    answer = receive(
        content_type=request.META.get("CONTENT_TYPE", ""),
        content_length=request.META.get("CONTENT_LENGTH"),
        read_body=lambda _length: request.body,
        headers=request.headers,
    )
    response = HttpResponse(answer.body, status=answer.status, content_type="application/json")
    if answer.retry_after:
        response["Retry-After"] = answer.retry_after
    return response
