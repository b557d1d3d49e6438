"""The e-mail telling an endpoint's admins that it was disabled, in the agency's brand."""

from __future__ import annotations

from django.urls import reverse

from tenants import selectors
from tenants.mail import branded_mail_build

from .models import WebhookEndpoint


def endpoint_disabled_mail_send(*, endpoint_id: int) -> int:
    endpoint = (
        WebhookEndpoint.objects.unscoped()
        .select_related("agency", "location")
        .filter(pk=endpoint_id)
        .first()
    )
    if endpoint is None:
        return 0
    agency, location = endpoint.agency, endpoint.location
    recipients = set(selectors.agency_admin_emails(agency))
    if location is not None:
        recipients |= set(selectors.location_admin_emails(location))
        path = reverse("workspace:webhooks", kwargs={"location_id": location.pk})
    else:
        path = f"/admin/integrations/webhookendpoint/{endpoint.pk}/change/"
    if not recipients:
        return 0
    message = branded_mail_build(
        agency=agency,
        template_prefix="emails/webhook_endpoint_disabled",
        to=sorted(recipients),
        context={
            "endpoint": endpoint,
            "location": location,
            "link": selectors.agency_portal_url(agency, path),
        },
    )
    return message.send()
