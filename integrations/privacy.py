"""Privacy operations on a person: erase them from GHL and from everything we mirrored."""

from __future__ import annotations

from dataclasses import dataclass, field

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
