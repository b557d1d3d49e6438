"""What a location's active packs offer to the rest of the product."""

from __future__ import annotations

from dataclasses import dataclass

from integrations.routing.conditions import CUSTOM
from tenants.models import Location

from .catalog import packs
from .models import PackActivation


@dataclass(frozen=True)
class RoutingAttribute:
    pack: str
    key: str  # the agent attribute name: AgentProfile.attributes[key]
    label: str
    # What a rule condition or a pool match reads: `custom:<GHL id>` or a contact field name.
    field: str


def _activated(location: Location) -> list[PackActivation]:
    rows = PackActivation.objects.for_location(location).filter(activated_at__isnull=False)
    return list(rows.order_by("pack_key"))


def pack_routing_attributes(*, location: Location) -> list[RoutingAttribute]:
    """The routing attributes of the location's activated packs, each with the field it reads,
    in the shape routing rules take:

        {"field": attribute.field, "op": "in", "value": ["Dubai Marina"]}        # a condition
        {"match": {"attribute": attribute.key, "field": attribute.field}}        # a pool

    An attribute over a custom field the activation has no id for (a pack version newer than
    the last activation) is left out until the pack is activated again."""
    found = []
    catalog = packs()
    for activation in _activated(location):
        pack = catalog.get(activation.pack_key)
        if pack is None:  # a pack withdrawn from the catalogue
            continue
        for attribute in pack.attributes:
            if attribute.contact_field:
                field = attribute.contact_field
            elif ghl_id := activation.fields.get(attribute.custom_field):
                field = CUSTOM + ghl_id
            else:
                continue
            found.append(RoutingAttribute(pack.key, attribute.key, attribute.label, field))
    return found


def pack_custom_field_ids(*, location: Location) -> set[str]:
    """The GHL ids of every custom field the location's activated packs map."""
    return {str(i) for a in _activated(location) for i in a.fields.values()}


def pack_report_set(*, location: Location) -> frozenset[str] | None:
    """The report sections the location's activated packs declare (their union), or None when
    no pack is activated (the location then shows every section)."""
    catalog = packs()
    chosen = [catalog[a.pack_key] for a in _activated(location) if a.pack_key in catalog]
    return frozenset(r for pack in chosen for r in pack.reports) if chosen else None
