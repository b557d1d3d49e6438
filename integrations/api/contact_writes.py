"""Contact writes from the API: GHL first (through our client and its rate governor), then the
mirror from GHL's answer, with an audit row. When GHL refuses or fails nothing local changes,
and the caller gets a ``ContactWriteRefused`` that says why."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone

from integrations.ghl import operations as ops
from integrations.ghl.client import GhlClient
from integrations.ghl.errors import (
    GhlAuthError,
    GhlError,
    GhlNotConnected,
    GhlNotFound,
    GhlRateLimited,
    GhlValidationError,
)
from integrations.ghl.governor import Priority
from integrations.mirror.models import MirrorContact
from integrations.mirror.writer import mirror_delete, mirror_upsert
from integrations.sync.engine import location_installation
from tenants.entitlements import feature_require, location_limit
from tenants.models import Location
from tenants.services import audit_record

T = TypeVar("T")


@dataclass
class ContactWriteRefused(Exception):  # a refusal, worded for the API caller
    status: int
    code: str
    message: str
    details: Any = None
    retry_after: int | None = None


def _via_ghl(location: Location, call: Callable[[GhlClient], T]) -> T:
    installation = location_installation(location)
    if installation is None:
        raise ContactWriteRefused(
            409, "location_not_connected", "This location is not connected to the CRM."
        )
    try:
        with GhlClient(installation, priority=Priority.INTERACTIVE) as ghl:
            return call(ghl)
    except GhlValidationError as exc:
        raise ContactWriteRefused(
            422, "crm_rejected", "The CRM rejected the contact.", {"reasons": exc.messages}
        ) from exc
    except GhlNotFound as exc:
        raise ContactWriteRefused(404, "not_found", "Not found.") from exc
    except GhlRateLimited as exc:
        raise ContactWriteRefused(
            503, "crm_busy", "The CRM is busy; retry shortly.", retry_after=10
        ) from exc
    except (GhlNotConnected, GhlAuthError) as exc:
        raise ContactWriteRefused(
            409, "location_not_connected", "The location's CRM connection needs attention."
        ) from exc
    except GhlError as exc:
        raise ContactWriteRefused(
            502, "upstream_error", "The CRM did not answer; nothing was changed."
        ) from exc


def _mirrored(location: Location, ghl_id: str) -> MirrorContact:
    found: MirrorContact = MirrorContact.objects.for_location(location).get(ghl_id=ghl_id)
    return found


def _audit(action: str, contact: MirrorContact, fields: list[str], key_prefix: str) -> None:
    # Field names only: the values are personal data that the contact's erasure must remove.
    audit_record(
        action=action,
        target=contact,
        acting_user=None,
        agency=contact.location.agency,
        location=contact.location,
        changes={"fields": (None, sorted(fields)), "api_key": (None, key_prefix)},
    )


def api_contact_create(
    *, location: Location, fields: Mapping[str, Any], key_prefix: str
) -> MirrorContact:
    """Create the contact in GHL and mirror it; refused (`NotEntitled`) once the mirror holds
    the plan's contact limit. Contacts GHL sends us are always mirrored, whatever the limit."""
    if location_limit(location=location, key="contact_limit") is not None:
        used = MirrorContact.objects.for_location(location).count()
        feature_require(location=location, feature="contact_limit", used=used)
    created = _via_ghl(
        location,
        lambda ghl: ghl.run(
            ops.contact_create(location_id=location.ghl_location_id or "", fields=fields)
        ),
    )
    with transaction.atomic():
        mirror_upsert(location_id=location.pk, kind="contact", records=[created])
        contact = _mirrored(location, str(created["id"]))
        _audit("contact.created", contact, list(fields), key_prefix)
    return contact


def api_contact_update(
    *, contact: MirrorContact, fields: Mapping[str, Any], key_prefix: str
) -> MirrorContact:
    location = contact.location
    if not fields:
        return contact
    updated = _via_ghl(
        location, lambda ghl: ghl.run(ops.contact_update(contact_id=contact.ghl_id, fields=fields))
    )
    with transaction.atomic():
        mirror_upsert(location_id=location.pk, kind="contact", records=[updated])
        fresh = _mirrored(location, contact.ghl_id)
        _audit("contact.updated", fresh, list(fields), key_prefix)
    return fresh


def api_contact_delete(*, contact: MirrorContact, key_prefix: str) -> None:
    location = contact.location
    _via_ghl(location, lambda ghl: ghl.run(ops.contact_delete(contact_id=contact.ghl_id)))
    with transaction.atomic():
        _audit("contact.deleted", contact, [], key_prefix)
        mirror_delete(
            location_id=location.pk,
            kind="contact",
            ghl_ids=[contact.ghl_id],
            deleted_at=timezone.now(),
        )
