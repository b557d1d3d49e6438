"""Routing starts when a lead arrives (a ContactCreate applied to the mirror): the lead joins
the routing queue, where the location routes leads (see `queue`)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from integrations.sync.signals import lead_arrived
from tenants.models import Location

from .queue import leads_enqueue


@receiver(lead_arrived)
def route_new_leads(sender: Any, location: Location, contact_ghl_ids: list[str], **_: Any) -> None:
    leads_enqueue(location=location, contact_ghl_ids=contact_ghl_ids)
