"""Sync follows the installation: a connected location is backfilled, an uninstalled one stops."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from integrations.ghl.models import GhlInstallation
from integrations.ghl.signals import installation_connected, installation_uninstalled

from .engine import sync_run_start, sync_runs_cancel
from .models import LocationSync, SyncRun


@receiver(installation_connected)
def sync_connected_location(
    sender: Any, installation: GhlInstallation, first: bool, **_: Any
) -> None:
    """A location never mirrored is backfilled; one coming back (reinstall, reconnect) is
    reconciled, which reads everything but rewrites only what changed."""
    location = installation.location
    if not first or location is None:
        return
    state = LocationSync.objects.for_location(location).first()
    kind = SyncRun.Kind.RECONCILE if state and state.last_backfill_at else SyncRun.Kind.BACKFILL
    sync_run_start(location=location, kind=kind)


@receiver(installation_uninstalled)
def stop_syncing(sender: Any, installation: GhlInstallation, **_: Any) -> None:
    if installation.location is not None:
        sync_runs_cancel(location=installation.location, reason="GHL app uninstalled")
