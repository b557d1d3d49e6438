"""Connections between a location's GHL contacts and an external system, and what they did.

* `ExternalConnection`: one configured sync (kind, settings, encrypted credentials, the field
  mapping with a conflict policy per field, schedule, health);
* `ExternalLink`: a GHL contact paired with an external row, with the *snapshot* of the values
  both sides last agreed on — a side whose value differs from the snapshot changed it, which is
  how a two-way sync tells edits apart and never echoes its own writes back;
* `SyncConflict`: both sides changed a field whose policy is "ask": waits for a person;
* `FieldOverwrite`: every value the sync overwrote (field, old, new, side written, when, why);
* `ExternalSyncRun`: one run with its counts, progress and error."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saas_platform.kernel.crypto import EncryptedTextField
from saas_platform.kernel.models import TimeStampedModel
from saas_platform.kernel.scoping import ScopedManager, TenantOwnedModel
from tenants.models import Location, LocationOwnedQuerySet

LocationOwnedManager = ScopedManager.from_queryset(LocationOwnedQuerySet)


class Policy(models.TextChoices):
    GHL_WINS = "ghl", _("GHL wins")
    EXTERNAL_WINS = "external", _("External system wins")
    NEWEST_WINS = "newest", _("Newest change wins")
    ASK = "ask", _("Ask a person")


class Direction(models.TextChoices):
    TWO_WAY = "two_way", _("Both ways")
    TO_EXTERNAL = "to_external", _("GHL → external only")
    FROM_EXTERNAL = "from_external", _("External → GHL only")


class ExternalConnection(TimeStampedModel, TenantOwnedModel):
    TENANT_FIELD: ClassVar[str] = "location"

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused after repeated failures")
        DISABLED = "disabled", _("Disabled")

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=32)
    config = models.JSONField(default=dict, blank=True)
    # JSON of the kind's secrets, encrypted at rest like GHL tokens; never shown back.
    credentials = EncryptedTextField(blank=True, default="")
    # [{"ghl": "email", "external": "Email", "policy": "newest"}, …]
    mapping = models.JSONField(default=list)
    direction = models.CharField(max_length=16, choices=Direction.choices, default="two_way")
    # How an external row without a link finds its GHL contact (a GHL field of the mapping).
    match_on = models.CharField(max_length=40, default="email", blank=True)
    interval_minutes = models.PositiveIntegerField(
        default=15, validators=[MinValueValidator(5), MaxValueValidator(24 * 60)]
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    consecutive_failures = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    last_run_at = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # High-water marks: the newest GHL change time read, the external system's own cursor.
    ghl_cursor = models.DateTimeField(null=True, blank=True)
    external_cursor = models.TextField(blank=True, default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = LocationOwnedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["location", "name"], name="connection_name_unique")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def secrets(self) -> dict[str, Any]:
        return json.loads(self.credentials) if self.credentials else {}

    @secrets.setter
    def secrets(self, value: dict[str, Any]) -> None:
        self.credentials = json.dumps(value) if value else ""

    def schedule_next(self, *, after: datetime | None = None) -> None:
        self.next_run_at = (after or timezone.now()) + timedelta(minutes=self.interval_minutes)


class ExternalLink(TenantOwnedModel):
    TENANT_FIELD: ClassVar[str] = "location"

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(ExternalConnection, on_delete=models.CASCADE, related_name="+")
    ghl_id = models.CharField("GHL contact id", max_length=64)
    external_key = models.CharField(max_length=255)
    # {GHL field: value both sides last agreed on}, as canonical text.
    snapshot = models.JSONField(default=dict)
    # {GHL field: value} a person chose for a conflict: written to both sides by the next run.
    pending = models.JSONField(default=dict, blank=True)
    synced_at = models.DateTimeField(default=timezone.now)

    objects = LocationOwnedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "ghl_id"], name="link_one_per_contact"),
            models.UniqueConstraint(fields=["connection", "external_key"], name="link_one_per_row"),
        ]

    def __str__(self) -> str:
        return f"{self.ghl_id} ↔ {self.external_key}"


class ExternalSyncRun(TenantOwnedModel):
    TENANT_FIELD: ClassVar[str] = "location"

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        # Not run: the location's plan leaves sync connections out or its billing is paused.
        SKIPPED = "skipped", _("Skipped (plan)")

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("Schedule")
        MANUAL = "manual", _("Sync now")
        BULK = "bulk", _("Bulk action")

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(ExternalConnection, on_delete=models.CASCADE, related_name="+")
    trigger = models.CharField(max_length=12, choices=Trigger.choices, default=Trigger.SCHEDULE)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    phase = models.CharField(max_length=40, blank=True, default="")
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    pulled = models.PositiveIntegerField(default=0)
    to_ghl = models.PositiveIntegerField("contacts written to GHL", default=0)
    to_external = models.PositiveIntegerField("rows written to the external system", default=0)
    created_in_ghl = models.PositiveIntegerField(default=0)
    created_external = models.PositiveIntegerField(default=0)
    deleted_external = models.PositiveIntegerField(default=0)
    conflicts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")

    objects = LocationOwnedManager()

    class Meta:
        indexes = [models.Index(fields=["connection", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.connection_id} {self.started_at:%Y-%m-%d %H:%M} {self.status}"

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.done / self.total)) if self.total else 0


class SyncConflict(TenantOwnedModel):
    TENANT_FIELD: ClassVar[str] = "location"

    class Status(models.TextChoices):
        OPEN = "open", _("Waiting for a person")
        RESOLVED = "resolved", _("Resolved")

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(ExternalConnection, on_delete=models.CASCADE, related_name="+")
    link = models.ForeignKey(ExternalLink, on_delete=models.CASCADE, related_name="+")
    field = models.CharField(max_length=80)
    ghl_value = models.TextField(blank=True, default="")
    external_value = models.TextField(blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    # Which value the person chose ("ghl" / "external"); applied by the next run.
    resolution = models.CharField(max_length=10, blank=True, default="")
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = LocationOwnedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["link", "field"],
                condition=Q(status="open"),
                name="one_open_conflict_per_field",
            )
        ]

    def __str__(self) -> str:
        return f"{self.field} of {self.link}"


class FieldOverwrite(TenantOwnedModel):
    TENANT_FIELD: ClassVar[str] = "location"

    class Side(models.TextChoices):
        GHL = "ghl", _("GHL")
        EXTERNAL = "external", _("External system")

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(ExternalConnection, on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(
        ExternalSyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ghl_id = models.CharField(max_length=64)
    external_key = models.CharField(max_length=255)
    field = models.CharField(max_length=80)
    old = models.TextField(blank=True, default="")
    new = models.TextField(blank=True, default="")
    side = models.CharField("side written", max_length=10, choices=Side.choices)
    # Why: the only side that changed, or the policy that settled a conflict.
    reason = models.CharField(max_length=40)
    at = models.DateTimeField(default=timezone.now)

    objects = LocationOwnedManager()

    class Meta:
        indexes = [models.Index(fields=["connection", "-at"])]

    def __str__(self) -> str:
        return f"{self.field} of {self.ghl_id} on {self.side}"
