"""`manage.py sync_location <location>`: run a sync now, in this process, with a progress bar."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.sync.engine import sync_run_execute, sync_run_start
from integrations.sync.entities import PLANS
from integrations.sync.models import SyncRun
from saas_platform.kernel.errors import ApplicationError
from tenants.models import Location

BAR = 30


class Command(BaseCommand):
    help = "Sync one location's GHL data into the mirror now (backfill, incremental, reconcile)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("location", help="GHL location id, or our location's numeric id")
        parser.add_argument("--kind", choices=sorted(PLANS), default="incremental")

    def handle(self, *args: Any, location: str, kind: str, **options: Any) -> None:
        found = Location.objects.unscoped().filter(ghl_location_id=location).first()
        if found is None and location.isdigit():
            found = Location.objects.unscoped().filter(pk=int(location)).first()
        if found is None:
            raise CommandError(f"No location with GHL id or id {location!r}.")
        try:
            run = sync_run_start(location=found, kind=kind, enqueue=False)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        done = sync_run_execute(run_pk=run.pk, progress=self._draw)
        if done is None:
            raise CommandError(f"Run {run.pk} is already being worked on by another process.")
        done.refresh_from_db()
        self._draw(done)
        sys.stderr.write("\n")
        summary = (
            f"{done.get_kind_display()} of {found}: {done.get_status_display().lower()}, "
            f"{done.rows} records in {done.pages} pages, {done.requests} GHL calls."
        )
        if done.status != SyncRun.Status.SUCCEEDED:
            raise CommandError(f"{summary} {done.error}")
        self.stdout.write(self.style.SUCCESS(summary))

    def _draw(self, run: SyncRun) -> None:
        percent = run.percent
        filled = int(BAR * (percent or 0) / 100)
        shown = f"{percent:3d}%" if percent is not None else "  …"
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (BAR - filled)}] {shown} {run.entity:<14} "
            f"{run.rows:>9,} records {run.pages:>6} pages"
        )
        sys.stderr.flush()
