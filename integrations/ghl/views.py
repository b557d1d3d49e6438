"""HTTP interfaces of the GHL adapter: "Connect HighLevel", the OAuth callback, the webhook."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from integrations.inbox.models import InboundEvent
from integrations.inbox.services import inbound_event_store
from saas_platform.kernel.errors import ApplicationError
from saas_platform.kernel.logging import get_logger
from saas_platform.kernel.machine import machine_endpoint
from tenants import selectors as tenant_selectors
from tenants.admin.scoping import can_change
from tenants.request import actor

from . import install
from .webhooks import WebhookRejected, verify

log = get_logger(__name__)

INSTALLATIONS_ADMIN = "/admin/integrations/ghlinstallation/"
# The webhook's answers, made once (every delivery gets one of them).
ACCEPTED, DUPLICATE = b'{"status":"accepted"}', b'{"status":"duplicate"}'


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


def _reject(reason: str, status: int) -> JsonResponse:
    return JsonResponse({"error": reason}, status=status)


@machine_endpoint
@require_POST
def webhook(request: HttpRequest) -> HttpResponse:
    """GHL's webhook endpoint. 2xx only once the event is stored durably; 429 when it cannot be
    (GHL retries only 429s); every refusal of bad input is a 4xx that stores nothing."""
    content_type = request.content_type or ""
    if content_type != "application/json":
        return _reject("expected application/json", 415)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _reject("bad Content-Length", 400)
    if length > settings.GHL_WEBHOOK_MAX_BYTES:
        return _reject("body too large", 413)
    body = request.body
    try:
        event = verify(body, request.headers)
    except WebhookRejected as exc:
        log.info("ghl.webhook.rejected", reason=exc.reason, status=exc.status)
        return _reject(exc.reason, exc.status)
    except ImproperlyConfigured as exc:  # our keys are broken: ask GHL to retry, lose nothing
        log.error("ghl.webhook.keys_misconfigured", error=str(exc))
        return _reject("temporarily unable to verify events", 429)
    try:
        # One INSERT in autocommit: durable once it returns, one round trip to the database.
        stored = inbound_event_store(
            source=InboundEvent.Source.GHL,
            event_id=event.event_id,
            event_type=event.event_type,
            body=body,
            company_id=event.company_id,
            location_id=event.location_id,
            entity_id=event.entity_id,
            occurred_at=event.occurred_at,
            signature_kind=event.signature_kind,
        )
    except DatabaseError as exc:
        log.error("ghl.webhook.store_failed", event_id=event.event_id, error=str(exc))
        response = _reject("temporarily unable to store the event", 429)
        response["Retry-After"] = "60"
        return response
    return HttpResponse(ACCEPTED if stored else DUPLICATE, content_type="application/json")
