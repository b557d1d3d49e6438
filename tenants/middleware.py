"""The one place a request's Host becomes a tenant.

* a platform host (settings.PLATFORM_HOSTS) → ``request.agency = None``, platform URLs;
* a verified domain of an active agency → ``request.agency``, the portal and agency-admin URLs;
* anything else → 404, with no fallback to some default agency.

For the REST API the Host's agency is kept in the process for at most a second
(tenants.caches); portal pages read it on every request.
"""

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseNotFound

from saas_platform.kernel.logging import get_logger
from saas_platform.kernel.machine import API_PATH_PREFIX

from . import selectors
from .accounts.realm import SESSION_REALM_KEY
from .caches import AGENCY_BY_HOST
from .models import Agency

log = get_logger(__name__)

Handler = Callable[[HttpRequest], HttpResponse]


class TenantMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        host = selectors.normalize_host(request.META.get("HTTP_HOST", ""))
        request.agency = None  # type: ignore[attr-defined]
        if selectors.is_platform_host(host):
            request.urlconf = settings.PLATFORM_URLCONF  # type: ignore[attr-defined]
            return self.get_response(request)
        if not host:
            agency = None
        elif request.path_info.startswith(API_PATH_PREFIX):  # machine traffic, many per second
            agency = AGENCY_BY_HOST.get_or_load(host, lambda: selectors.agency_for_host(host))
        else:
            agency = selectors.agency_for_host(host)
        if agency is None:
            return HttpResponseNotFound(b"Not Found", content_type="text/plain")
        if agency.status != Agency.Status.ACTIVE:
            return HttpResponseForbidden(
                b"This portal is currently unavailable.", content_type="text/plain"
            )
        request.agency = agency  # type: ignore[attr-defined]
        return self.get_response(request)


class RealmMiddleware:
    """A session belongs to the realm it was made in. Sign-in records the agency of the domain it
    happened on in the session; a session presented on another agency's domain (or on the
    platform's), or whose user belongs to another realm, is logged out, not let in."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            agency = getattr(request, "agency", None)
            realm_id = agency.pk if agency else None
            session_realm = request.session.get(SESSION_REALM_KEY, realm_id)
            if user.agency_id != realm_id or session_realm != realm_id:
                log.warning(
                    "tenants.session.realm_mismatch",
                    user_id=user.pk,
                    user_agency_id=user.agency_id,
                    session_agency_id=session_realm,
                    request_agency_id=realm_id,
                )
                logout(request)
        return self.get_response(request)
