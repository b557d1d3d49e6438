"""Keeping the rollups fresh: a mirror write or a stored routing decision marks the location."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from integrations.mirror.signals import mirror_written
from integrations.routing.models import RoutingDecision

from .refresh import report_mark_dirty


@receiver(mirror_written)
def mirror_changed(sender: Any, location_id: int, **_: Any) -> None:
    report_mark_dirty(location_id=location_id)


@receiver(post_save, sender=RoutingDecision)
def decision_stored(sender: Any, instance: RoutingDecision, **_: Any) -> None:
    report_mark_dirty(location_id=instance.location_id)
