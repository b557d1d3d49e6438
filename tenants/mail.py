"""Mail in an agency's name: its sender name, logo and colours, replies to its support address.
The portal account emails (allauth's) and invitations all go through `branded_mail_build`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string

from .models import Agency, Branding
from .theme import readable_on


def brand_context(agency: Agency) -> dict[str, Any]:
    branding: Branding = Branding.objects.for_agency(agency).get()
    return {
        "brand": branding,
        "brand_name": branding.display_name,
        "on_primary": readable_on(branding.primary_color),
        "on_accent": readable_on(branding.accent_color),
    }


def branded_mail_build(
    *, agency: Agency, template_prefix: str, to: list[str], context: dict[str, Any]
) -> EmailMultiAlternatives:
    """`<prefix>_subject.txt`, `<prefix>_message.txt` and, where it exists,
    `<prefix>_message.html`, rendered with the agency's brand in the context."""
    ctx = {**context, **brand_context(agency)}
    branding: Branding = ctx["brand"]
    subject = " ".join(render_to_string(f"{template_prefix}_subject.txt", ctx).split())
    sender_name = (branding.sender_name or branding.display_name).replace('"', "")
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template_prefix}_message.txt", ctx).strip(),
        from_email=f'"{sender_name}" <{settings.DEFAULT_FROM_EMAIL}>',
        to=to,
        reply_to=[branding.support_email] if branding.support_email else None,
    )
    try:
        html = render_to_string(f"{template_prefix}_message.html", ctx)
    except TemplateDoesNotExist:
        # Every account email gets the branded frame; the body is the text version.
        html = render_to_string(
            "emails/branded_frame.html", {**ctx, "body": message.body, "subject": subject}
        )
    message.attach_alternative(html, "text/html")
    return message
