"""Which locations are due for which sync (called by the periodic tasks)."""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from integrations.ghl.models import GhlInstallation

from .engine import sync_run_start
from .models import LocationSync, SyncRun

RECONCILE_SPREAD_SECONDS = 4 * 3600


def _connected_syncs() -> list[LocationSync]:
    connected = GhlInstallation.objects.unscoped().filter(
        status=GhlInstallation.Status.HEALTHY, location__isnull=False
    )
    return list(
        LocationSync.objects.unscoped()
        .filter(enabled=True, location__in=connected.values("location"))
        .select_related("location", "location__agency")
    )


def incremental_due_start() -> int:
    """Start the incremental pass of every connected location whose interval has passed (never
    before its first backfill finished)."""
    now = timezone.now()
    started = 0
    for sync in _connected_syncs():
        if sync.last_backfill_at is None:
            continue
        last = sync.last_incremental_at or sync.last_backfill_at
        if last + timedelta(minutes=sync.interval_minutes) <= now:
            sync_run_start(location=sync.location, kind=SyncRun.Kind.INCREMENTAL)
            started += 1
    return started


def reconcile_all_start() -> int:
    """Queue a reconciliation of every backfilled location, spread over hours so GHL budgets
    and our workers are not hit all at once."""
    started = 0
    for sync in _connected_syncs():
        if sync.last_backfill_at is None:
            continue
        delay = random.uniform(0, RECONCILE_SPREAD_SECONDS)  # noqa: S311
        sync_run_start(location=sync.location, kind=SyncRun.Kind.RECONCILE, countdown=delay)
        started += 1
    return started
