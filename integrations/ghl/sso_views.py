"""The embedded SSO page and its sign-in endpoint (on agency domains; rules in ghl/sso.py)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from saas_platform.kernel.logging import get_logger
from tenants.models import Agency

from . import sso
from .embedding import EMBEDDABLE_ATTR, SESSION_EMBEDDED_KEY

log = get_logger(__name__)

AUTH_BACKEND = "tenants.auth.RealmBackend"


def _agency(request: HttpRequest) -> Agency:
    agency: Agency | None = getattr(request, "agency", None)
    if agency is None:
        raise Http404
    return agency


def _embeddable(response: HttpResponse) -> HttpResponse:
    setattr(response, EMBEDDABLE_ATTR, True)
    return response


def _same_origin(request: HttpRequest) -> bool:
    """The payload must come from our own SSO page. The iframe is cross-site, so a Lax CSRF
    cookie never reaches us there; the Origin header, which browsers always send on a POST,
    stops another site from posting a payload to sign a visitor in (login CSRF)."""
    origin = request.headers.get("Origin", "")
    return bool(origin) and urlsplit(origin).netloc == request.get_host()


def _refused(request: HttpRequest, error: sso.SsoError) -> HttpResponse:
    response = render(
        request,
        "integrations/sso_refused.html",
        {"message": error.message},
        status=error.status,
    )
    return _embeddable(response)


@require_GET
@never_cache
def sso_page(request: HttpRequest) -> HttpResponse:
    """The custom menu link's target: asks the CRM frame for the user context and posts it."""
    _agency(request)
    return _embeddable(render(request, "integrations/sso_embed.html"))


@csrf_exempt  # cross-site iframe: see _same_origin, which takes CSRF's place
@require_POST
@never_cache
def sso_sign_in(request: HttpRequest) -> HttpResponse:
    agency = _agency(request)
    if not _same_origin(request):
        return _refused(request, sso.SsoMalformedRequest())
    try:
        result = sso.sso_sign_in_from_payload(
            agency=agency,
            payload=request.POST.get("payload", ""),
            client=request.META.get("REMOTE_ADDR", ""),
        )
    except sso.SsoError as exc:
        return _refused(request, exc)
    login(request, result.user, backend=AUTH_BACKEND)
    request.session[SESSION_EMBEDDED_KEY] = True
    log.info(
        "ghl.sso.signed_in",
        agency_id=agency.pk,
        user_id=result.user.pk,
        location_id=result.location.pk if result.location else None,
        created=result.created,
    )
    if result.location is not None:
        target = reverse("portal:location", kwargs={"location_id": result.location.pk})
    else:
        target = reverse("portal:home")
    return HttpResponseRedirect(target)
