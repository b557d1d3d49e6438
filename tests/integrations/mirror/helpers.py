"""Helpers shared by the mirror writer tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from integrations.mirror.models import MirrorContact, MirrorTombstone
from integrations.mirror.writer import WriteResult, mirror_upsert
from tenants.models import Location
from tests.integrations.mirror.conftest import Record

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
NAIVE = T0.replace(tzinfo=None)
CONTACTS = MirrorContact._meta.db_table


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def contact(ghl_id: str = "c1", at: datetime = T0, **fields: Any) -> Record:
    return {
        "id": ghl_id,
        "firstName": "Ana",
        "email": "ana@x.test",
        "dateUpdated": iso(at),
        **fields,
    }


def upsert(
    location: Location, records: list[Record], kind: str = "contact", **kw: Any
) -> WriteResult:
    return mirror_upsert(location_id=location.id, kind=kind, records=records, **kw)


def stored(location: Location, ghl_id: str = "c1") -> MirrorContact:
    return MirrorContact.objects.for_location(location).get(ghl_id=ghl_id)


def tombstone(location: Location, ghl_id: str, kind: str = "contact") -> MirrorTombstone | None:
    return MirrorTombstone.objects.for_location(location).filter(kind=kind, ghl_id=ghl_id).first()
