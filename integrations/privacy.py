"""Privacy operations on a person: erase them from GHL and from everything we mirrored."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.dispatch import Signal
from django.utils import timezone

from integrations.ghl import operations as ops
from integrations.ghl.client import GhlClient
from integrations.ghl.errors import GhlError, GhlNotFound
from integrations.mirror.writer import mirror_delete
from integrations.sync.engine import location_installation
from saas_platform.kernel.errors import ApplicationError
from tenants import services as tenant_services
from tenants.models import Location, User

# sender=Location, location=…, ghl_contact_id=…, report=<ErasureReport>: connectors erase the
# person from the systems they sync with and add what they did to the report.
contact_erased = Signal()

# Mirror tables that hold rows about a contact, by the column naming it.
LINKED = {
    "integrations_mirroropportunity": "contact_ghl_id",
    "integrations_mirrorappointment": "contact_ghl_id",
    "integrations_mirrorconversation": "contact_ghl_id",
    "integrations_mirrormessage": "contact_ghl_id",
}


@dataclass
class ErasureReport:
    ghl: str = ""
    mirror: dict[str, int] = field(default_factory=dict)
    elsewhere: dict[str, str] = field(default_factory=dict)


def contact_erase(
    *, location: Location, ghl_contact_id: str, acting_user: User | None
) -> ErasureReport:
    """Delete the person in GHL first (if that fails nothing else changes), then every mirror
    row about them, then tell the connectors; the audit entry names the contact by id only."""
    if not ghl_contact_id:
        raise ApplicationError("Which contact? A GHL contact id is required.")
    installation = location_installation(location)
    if installation is None:
        raise ApplicationError(
            "This location is not connected to GHL, so the contact cannot be erased there. "
            "Reconnect it first."
        )
    report = ErasureReport()
    try:
        with GhlClient(installation) as client:
            client.run(ops.contact_delete(contact_id=ghl_contact_id))
        report.ghl = "deleted"
    except GhlNotFound:
        report.ghl = "already gone"
    except GhlError as exc:
        raise ApplicationError(
            f"GHL did not delete the contact ({exc.message}); nothing erased."
        ) from exc
    with transaction.atomic():
        report.mirror["contacts"] = mirror_delete(
            location_id=location.pk,
            kind="contact",
            ghl_ids=[ghl_contact_id],
            deleted_at=timezone.now(),
        )
        with connection.cursor() as cursor:
            for table, column in LINKED.items():
                cursor.execute(
                    f"DELETE FROM {table} WHERE location_id = %s AND {column} = %s",  # noqa: S608
                    [location.pk, ghl_contact_id],
                )
                report.mirror[table.removeprefix("integrations_mirror")] = cursor.rowcount
        contact_erased.send(
            Location, location=location, ghl_contact_id=ghl_contact_id, report=report
        )
        tenant_services.audit_record(
            action="contact.erased",
            target=location,
            acting_user=acting_user,
            agency=location.agency,
            location=location,
            changes={
                "contact": (ghl_contact_id, None),
                "ghl": (None, report.ghl),
                "mirror": (None, report.mirror),
                "elsewhere": (None, report.elsewhere),
            },
        )
    return report


def contact_export(*, location: Location, ghl_contact_id: str) -> dict[str, Any]:
    """Everything we hold about one person of a location, as JSON-ready data (a subject access
    request): the mirrored contact and what is linked to it, and what the connections hold."""
    from django.forms.models import model_to_dict

    from integrations.connectors.models import ExternalLink, FieldOverwrite, SyncConflict
    from integrations.mirror.models import (
        MirrorAppointment,
        MirrorContact,
        MirrorConversation,
        MirrorMessage,
        MirrorOpportunity,
    )

    contact = MirrorContact.objects.for_location(location).filter(ghl_id=ghl_contact_id).first()
    if contact is None:
        raise ApplicationError("We hold no contact with this id for this location.")

    def rows(model: Any, **filters: Any) -> list[dict[str, Any]]:
        found = model.objects.for_location(location).filter(**filters)
        return [_plain(model_to_dict(row, exclude=["location"])) for row in found]

    links = ExternalLink.objects.for_location(location).filter(ghl_id=ghl_contact_id)
    return {
        "exported_at": timezone.now().isoformat(),
        "location": {"name": location.name, "ghl_location_id": location.ghl_location_id},
        "contact": _plain(model_to_dict(contact, exclude=["location"])),
        "opportunities": rows(MirrorOpportunity, contact_ghl_id=ghl_contact_id),
        "appointments": rows(MirrorAppointment, contact_ghl_id=ghl_contact_id),
        "conversations": rows(MirrorConversation, contact_ghl_id=ghl_contact_id),
        "messages": rows(MirrorMessage, contact_ghl_id=ghl_contact_id),
        "connected_systems": [
            {
                "connection": link.connection.name,
                "kind": link.connection.kind,
                "row": link.external_key,
                "values": link.snapshot,
            }
            for link in links.select_related("connection")
        ],
        "values_written_by_syncs": rows(FieldOverwrite, ghl_id=ghl_contact_id),
        "open_conflicts": rows(SyncConflict, link__ghl_id=ghl_contact_id, status="open"),
    }


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """Dates as ISO text, so the export is plain JSON."""
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}
