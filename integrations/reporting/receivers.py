"""Keeping the rollups fresh: mirror writes and stored routing decisions mark what they touch
(see `dirty.py`)."""

from __future__ import annotations

import threading
from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from integrations.mirror.signals import mirror_writing, mirror_written
from integrations.routing.models import RoutingDecision

from .dirty import decision_days, record_days, report_mark_dirty

# The days a write's records counted on before it, until the writer says what it changed. One
# write at a time per thread, and both signals come from the same call of the writer.
_before = threading.local()


@receiver(mirror_writing)
def mirror_about_to_change(
    sender: Any, location_id: int, kind: str, ghl_ids: list[str], **_: Any
) -> None:
    _before.days = (
        location_id,
        kind,
        record_days(location_id=location_id, kind=kind, ghl_ids=ghl_ids),
    )


@receiver(mirror_written)
def mirror_changed(sender: Any, location_id: int, kind: str, ghl_ids: list[str], **_: Any) -> None:
    held = getattr(_before, "days", None)
    _before.days = None
    before = held[2] if held is not None and held[:2] == (location_id, kind) else set()
    after = record_days(location_id=location_id, kind=kind, ghl_ids=ghl_ids)
    report_mark_dirty(location_id=location_id, days=before | after)


@receiver(post_save, sender=RoutingDecision)
def decision_stored(sender: Any, instance: RoutingDecision, **_: Any) -> None:
    days = decision_days(
        location_id=instance.location_id,
        contact_ghl_id=instance.contact_ghl_id,
        created_at=instance.created_at,
    )
    report_mark_dirty(location_id=instance.location_id, days=days)
