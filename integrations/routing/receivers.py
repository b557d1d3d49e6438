"""Routing starts when a lead arrives (a ContactCreate applied to the mirror)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from integrations.sync.signals import lead_arrived
from tenants.models import Location

from .assign import routing_enabled


@receiver(lead_arrived)
def route_new_lead(sender: Any, location: Location, contact_ghl_id: str, **_: Any) -> None:
    if not routing_enabled(location):
        return
    from integrations.tasks import routing_lead_assign

    routing_lead_assign.delay(location.pk, contact_ghl_id)
