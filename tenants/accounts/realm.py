"""The realm a session was made in, and the invitation a visitor is signing up with."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from saas_platform.kernel.errors import ApplicationError

from .. import services
from ..models import Agency, Invitation, User

# The agency id (or None: the platform) a session signed in on; RealmMiddleware compares it with
# the agency of every later request.
SESSION_REALM_KEY = "tenants.realm_agency_id"
SESSION_INVITATION_KEY = "tenants.invitation_token"


def request_agency(request: HttpRequest | None) -> Agency | None:
    return getattr(request, "agency", None) if request is not None else None


@receiver(user_logged_in)
def _remember_realm(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return
    # Test clients' force_login builds a request without a Host: the user's own realm then.
    agency = request_agency(request) if hasattr(request, "agency") else user.agency
    request.session[SESSION_REALM_KEY] = agency.pk if agency else None


def pending_invitation(request: HttpRequest) -> Invitation | None:
    """The invitation whose link this visitor opened, while it is still open."""
    agency = request_agency(request)
    token = request.session.get(SESSION_INVITATION_KEY) if hasattr(request, "session") else None
    if agency is None or not token:
        return None
    try:
        return services.invitation_from_token(agency=agency, token=token)
    except ApplicationError:
        request.session.pop(SESSION_INVITATION_KEY, None)
        return None
