"""The inbox of inbound events (ARCHITECTURE pattern 7): every webhook we accept is a row, stored
with its raw body under a unique (source, event id) *before* we answer 2xx, then moved through
pending → processing → succeeded / failed by a worker."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class InboundEvent(models.Model):
    class Source(models.TextChoices):
        GHL = "ghl", _("GoHighLevel")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PROCESSING = "processing", _("Processing")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed (will retry)")
        DEAD = "dead", _("Dead letter")
        SUPERSEDED = "superseded", _("Superseded by a newer event")

    source = models.CharField(max_length=20, choices=Source.choices)
    event_id = models.CharField(max_length=128)
    event_type = models.CharField(max_length=64)
    # Routing keys copied out of the payload so the admin can filter without parsing JSON.
    company_id = models.CharField(max_length=64, blank=True, default="")
    location_id = models.CharField(max_length=64, blank=True, default="")
    # The GHL record the event is about (contact, opportunity, …): newer events of the same record
    # supersede pending older ones.
    entity_id = models.CharField(max_length=64, blank=True, default="")
    body = models.BinaryField()  # the exact bytes that were signed
    signature_kind = models.CharField(max_length=16, blank=True, default="")
    occurred_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "event_id"], name="one_row_per_event"),
        ]
        indexes = [
            models.Index(fields=["status", "received_at"]),
            models.Index(fields=["company_id", "location_id"]),
            models.Index(fields=["source", "location_id", "entity_id", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.event_type} {self.event_id}"
