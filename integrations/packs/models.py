"""`PackActivation`: one pack on one location — what GHL custom field each of the pack's fields
became, which of its pipelines the location has, and how the last activation run went."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from saas_platform.kernel.models import TimeStampedModel
from saas_platform.kernel.scoping import ScopedManager, TenantOwnedModel
from tenants.models import Location, LocationOwnedQuerySet, User

LocationOwnedManager = ScopedManager.from_queryset(LocationOwnedQuerySet)


class PackActivation(TimeStampedModel, TenantOwnedModel):
    TENANT_FIELD: ClassVar[str] = "location"

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        ACTIVE = "active", _("Active")
        PIPELINES_MISSING = "pipelines_missing", _("Active — pipelines to create in GHL")
        FAILED = "failed", _("Failed (activate again to finish)")

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    pack_key = models.CharField(max_length=40)
    pack_version = models.PositiveIntegerField(default=0)  # last applied in full (0: never)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    # {pack field key: GHL custom field id}; kept as fields are created, so a run that fails
    # midway records what already exists in GHL.
    fields = models.JSONField(default=dict, blank=True)
    # [{"name", "id", "stages": {stage name: stage id}, "missing_stages": [names]}]
    pipelines_matched = models.JSONField(default=list, blank=True)
    # [{"name", "stages": [names]}]: GHL's API cannot create pipelines; the user does.
    pipelines_missing = models.JSONField(default=list, blank=True)
    # Things worth knowing that did not stop the activation (an adopted field of another type).
    notes = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True, default="")
    requested_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The first run that left every field in place (the pack's attributes are usable since).
    activated_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)

    objects = LocationOwnedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["location", "pack_key"], name="pack_activation_unique_per_location"
            )
        ]

    def __str__(self) -> str:
        return f"{self.pack_key} on {self.location_id}"
