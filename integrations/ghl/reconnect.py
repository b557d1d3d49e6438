"""The branded reconnect link: when an installation needs re-authorizing, the agency's owners and
admins get an email in the agency's name whose link points at the agency's own domain."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from saas_platform.kernel.logging import get_logger
from tenants import selectors as tenant_selectors
from tenants.mail import brand_context
from tenants.models import Branding

from .models import GhlInstallation

log = get_logger(__name__)

CONNECT_PATH = "/integrations/ghl/connect/"


def reconnect_url(installation: GhlInstallation) -> str:
    return tenant_selectors.agency_portal_url(installation.agency, CONNECT_PATH)


def reconnect_link_send(*, installation_id: int) -> int:
    """Email the reconnect link to the agency's owners and admins; returns how many got it."""
    installation = (
        GhlInstallation.objects.unscoped()
        .select_related("agency", "location")
        .filter(pk=installation_id)
        .first()
    )
    if installation is None or installation.status != GhlInstallation.Status.NEEDS_REAUTH:
        return 0
    agency = installation.agency
    recipients = tenant_selectors.agency_admin_emails(agency)
    if not recipients:
        return 0
    brand = brand_context(agency)
    branding: Branding = brand["brand"]
    context = {
        **brand,
        "installation": installation,
        "target": installation.location.name if installation.location else agency.name,
        "url": reconnect_url(installation),
    }
    sender_name = branding.sender_name or branding.display_name
    message = EmailMultiAlternatives(
        subject=_("%(brand)s: please reconnect %(target)s")
        % {"brand": branding.display_name, "target": context["target"]},
        body=render_to_string("emails/ghl_reconnect.txt", context),
        from_email=f"{sender_name} <{settings.DEFAULT_FROM_EMAIL}>",
        to=recipients,
        reply_to=[branding.support_email] if branding.support_email else None,
    )
    message.attach_alternative(render_to_string("emails/ghl_reconnect.html", context), "text/html")
    message.send()
    log.info("ghl.reconnect.sent", installation_id=installation.pk, recipients=len(recipients))
    return len(recipients)
