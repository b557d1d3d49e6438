"""Sync state: per-location settings, resumable cursors, and run records with progress."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saas_platform.kernel.models import TimeStampedModel
from saas_platform.kernel.scoping import ScopedManager, TenantOwnedModel
from tenants.models import Location, LocationOwnedQuerySet

LocationOwnedManager = ScopedManager.from_queryset(LocationOwnedQuerySet)


class LocationSync(TimeStampedModel, TenantOwnedModel):
    """How and when a location's mirror is brought up to date."""

    TENANT_FIELD: ClassVar[str] = "location"

    location = models.OneToOneField(Location, on_delete=models.CASCADE, related_name="ghl_sync")
    enabled = models.BooleanField(default=True)
    interval_minutes = models.PositiveIntegerField(
        default=15, help_text=_("How often the incremental sync runs.")
    )
    last_backfill_at = models.DateTimeField(null=True, blank=True)
    last_incremental_at = models.DateTimeField(null=True, blank=True)
    last_reconcile_at = models.DateTimeField(null=True, blank=True)

    objects = LocationOwnedManager()

    def __str__(self) -> str:
        return f"sync of {self.location}"


class SyncCursor(TenantOwnedModel):
    """Where a sync of one entity stands; written in the same transaction as each page's rows,
    so a killed worker resumes at the next page instead of starting over."""

    TENANT_FIELD: ClassVar[str] = "location"

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    entity = models.CharField(max_length=30)  # contacts, opportunities, appointments, …
    mode = models.CharField(max_length=20)  # backfill | incremental
    cursor = models.JSONField(default=dict, blank=True)
    # Newest GHL change time seen: the next incremental pass starts from here.
    watermark = models.DateTimeField(null=True, blank=True)
    done = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = LocationOwnedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["location", "entity", "mode"], name="one_cursor_per_entity_and_mode"
            )
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.mode} cursor"


class SyncRun(TimeStampedModel, TenantOwnedModel):
    TENANT_FIELD: ClassVar[str] = "location"

    class Kind(models.TextChoices):
        BACKFILL = "backfill", _("Full backfill")
        INCREMENTAL = "incremental", _("Incremental")
        RECONCILE = "reconcile", _("Reconciliation")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="sync_runs")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    entity = models.CharField(max_length=30, blank=True, default="", help_text=_("Current entity."))
    pages = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    total_estimate = models.PositiveIntegerField(null=True, blank=True)
    requests = models.PositiveIntegerField(default=0, help_text=_("GHL calls made."))
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    # {entity: {"rows": n, "inserted": n, "updated": n, "deleted": n}}
    details = models.JSONField(default=dict, blank=True)

    objects = LocationOwnedManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["location", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.location} ({self.get_status_display()})"

    @property
    def percent(self) -> int | None:
        if self.status == self.Status.SUCCEEDED:
            return 100
        if not self.total_estimate:
            return None
        return min(99, int(100 * self.rows / self.total_estimate))


class SyncSeen(models.Model):
    """Ids a reconciliation has read so far (committed with each page, so a restart keeps them);
    whatever the mirror holds beyond them at the end was deleted in GHL. Cleared with the run."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20)
    ghl_id = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "kind", "ghl_id"], name="seen_once_per_run")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.ghl_id}"
