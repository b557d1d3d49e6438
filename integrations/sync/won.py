"""An opportunity won in GHL, announced in the outbox ("opportunity.won") with what billing needs
to bill its contact: the value and the contact's e-mail (from the mirror; billing may not read
it)."""

from __future__ import annotations

from typing import Any

from integrations.mirror.models import MirrorContact
from tenants.events import OPPORTUNITY_WON, event_publish
from tenants.models import Location, TenantEvent


def opportunity_won_publish(*, location: Location, payload: dict[str, Any]) -> TenantEvent | None:
    """In the caller's transaction; None when no payment rule of the location wants it."""
    contact_id = str(payload.get("contactId") or "")
    contact = (
        MirrorContact.objects.for_location(location)
        .filter(ghl_id=contact_id)
        .values("email", "first_name", "last_name")
        .first()
        if contact_id
        else None
    ) or {}
    name = f"{contact.get('first_name') or ''} {contact.get('last_name') or ''}".strip()
    return event_publish(
        location=location,
        event_type=OPPORTUNITY_WON,
        data={
            "opportunity": {
                "id": str(payload.get("id") or ""),
                "name": str(payload.get("name") or ""),
                "contact_id": contact_id,
                "pipeline_id": str(payload.get("pipelineId") or ""),
                "stage_id": str(payload.get("pipelineStageId") or ""),
                "monetary_value": str(payload.get("monetaryValue") or 0),
            },
            "contact": {"id": contact_id, "email": contact.get("email") or "", "name": name},
        },
    )
