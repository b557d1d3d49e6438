"""Work an agency does on many locations at once, and contact imports from a CSV file.

A `BulkJob` runs one action over the locations it names, with progress and one `BulkJobItem`
(a per-location result) each; a `ContactImport` brings a CSV file's rows into GHL, with progress
and a row-level error report."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saas_platform.kernel.models import TimeStampedModel
from saas_platform.kernel.scoping import ScopedManager, TenantOwnedModel
from tenants.models import Agency, AgencyOwnedQuerySet, Location, LocationOwnedQuerySet

AgencyOwnedManager = ScopedManager.from_queryset(AgencyOwnedQuerySet)
LocationOwnedManager = ScopedManager.from_queryset(LocationOwnedQuerySet)


class BulkJob(TimeStampedModel, TenantOwnedModel):
    TENANT_FIELD: ClassVar[str] = "agency"

    class Kind(models.TextChoices):
        APPLY_CONNECTION = "apply_connection", _("Apply a sync connection template")
        SYNC_ENABLE = "sync_enable", _("Enable the GHL sync")
        SYNC_DISABLE = "sync_disable", _("Disable the GHL sync")
        RESYNC = "resync", _("Full resync from GHL")
        CONNECTIONS_RUN = "connections_run", _("Run every external sync now")
        APPLY_ROUTING_TEMPLATE = "apply_routing_template", _("Apply a routing template")
        APPLY_REPORT_TEMPLATE = "apply_report_template", _("Apply a report template")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        PARTIAL = "partial", _("Finished with failures")
        FAILED = "failed", _("Failed")

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # What the action needs (a template connection's or location's id, …); never secrets.
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = AgencyOwnedManager()

    class Meta:
        indexes = [models.Index(fields=["agency", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.done}/{self.total})"

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.done / self.total)) if self.total else 0


class BulkJobItem(TenantOwnedModel):
    TENANT_FIELD: ClassVar[str] = "agency"

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        SKIPPED = "skipped", _("Skipped")
        FAILED = "failed", _("Failed")

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey(BulkJob, on_delete=models.CASCADE, related_name="items")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    message = models.TextField(blank=True, default="")
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = AgencyOwnedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "location"], name="one_item_per_location")
        ]

    def __str__(self) -> str:
        return f"{self.location_id}: {self.status}"


class ContactImport(TimeStampedModel, TenantOwnedModel):
    TENANT_FIELD: ClassVar[str] = "location"

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Importing")
        SUCCEEDED = "succeeded", _("Imported")
        PARTIAL = "partial", _("Imported, some rows refused")
        FAILED = "failed", _("Failed")

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    file_name = models.CharField(max_length=255)
    # The uploaded file, kept only until the import has run (it holds people's data).
    content = models.BinaryField(default=b"", blank=True)
    # {CSV column: GHL field (a name of integrations.connectors.fields.STANDARD or custom:<id>)}
    mapping = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.PositiveIntegerField(default=0)
    done_rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    failed_rows = models.PositiveIntegerField(default=0)
    # CSV: row number, reason, then the row as uploaded — for the person to fix and upload again.
    error_report = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)

    objects = LocationOwnedManager()

    def __str__(self) -> str:
        return self.file_name

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.done_rows / self.total_rows)) if self.total_rows else 0
