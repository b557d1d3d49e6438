"""Telling a connection's owner that it stopped: paused after repeated failures."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from saas_platform.kernel.logging import get_logger
from tenants import selectors as tenant_selectors
from tenants.models import Branding

from .models import ExternalConnection

log = get_logger(__name__)

CONNECTIONS_ADMIN = "/admin/integrations/externalconnection/"


def connection_paused_notify(*, connection_pk: int) -> int:
    """E-mail the owner (or, failing that, the agency's admins) under the agency's brand;
    returns how many people were told."""
    connection = (
        ExternalConnection.objects.unscoped()
        .select_related("location__agency", "owner")
        .filter(pk=connection_pk, status=ExternalConnection.Status.PAUSED)
        .first()
    )
    if connection is None:
        return 0
    agency = connection.location.agency
    if connection.owner is not None and connection.owner.is_active and connection.owner.email:
        recipients = [connection.owner.email]
    else:
        recipients = tenant_selectors.agency_admin_emails(agency)
    if not recipients:
        return 0
    branding = Branding.objects.for_agency(agency).get()
    context = {
        "brand": branding,
        "connection": connection,
        "location": connection.location,
        "url": tenant_selectors.agency_portal_url(
            agency, f"{CONNECTIONS_ADMIN}{connection.pk}/change/"
        ),
    }
    sender = branding.sender_name or branding.display_name
    message = EmailMultiAlternatives(
        subject=_("%(brand)s: the sync “%(name)s” is paused")
        % {"brand": branding.display_name, "name": connection.name},
        body=render_to_string("emails/connection_paused.txt", context),
        from_email=f"{sender} <{settings.DEFAULT_FROM_EMAIL}>",
        to=recipients,
        reply_to=[branding.support_email] if branding.support_email else None,
    )
    message.send()
    log.info("connectors.paused_notified", connection_id=connection.pk, recipients=len(recipients))
    return len(recipients)
