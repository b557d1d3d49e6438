"""Connections take part in erasing a person: their rows about the contact go too."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from integrations.privacy import ErasureReport, contact_erased
from tenants.models import Location

from .base import ConnectorError
from .engine import build_connector
from .models import ExternalLink, FieldOverwrite


@receiver(contact_erased)
def erase_from_connected_systems(
    sender: Any, location: Location, ghl_contact_id: str, report: ErasureReport, **_: Any
) -> None:
    """Delete the linked row in every connected system; one that cannot be reached does not
    stop the erasure, and the report says which row to delete by hand."""
    links = ExternalLink.objects.for_location(location).filter(ghl_id=ghl_contact_id)
    for link in links.select_related("connection"):
        name = link.connection.name
        try:
            with build_connector(link.connection) as connector:
                connector.delete([link.external_key])
            report.elsewhere[name] = f"row {link.external_key} deleted"
        except ConnectorError as exc:
            report.elsewhere[name] = (
                f"row {link.external_key} NOT deleted ({exc.message}); delete it there by hand"
            )
    # The log of values written held the person's data too (conflicts go with their link).
    FieldOverwrite.objects.for_location(location).filter(ghl_id=ghl_contact_id).delete()
    links.delete()
