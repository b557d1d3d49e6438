"""One GHL write-back per paid automation request."""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from saas_platform.kernel.models import TimeStampedModel
from saas_platform.kernel.scoping import ScopedManager, TenantOwnedModel
from tenants.models import Location, LocationOwnedQuerySet, TenantEvent


class PaymentWriteback(TimeStampedModel, TenantOwnedModel):
    """A "payment.succeeded" event taken from the outbox (the row is the claim: one per event,
    and one per payment) and what of it is written to GHL. Each step is stamped once done, so a
    retry after GHL was busy never adds the note twice."""

    TENANT_FIELD: ClassVar[str] = "location"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Written to GHL"
        FAILED = "failed", "Refused by GHL"

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    event = models.OneToOneField(
        TenantEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # billing's payment request id: a second event about the same payment is ignored.
    payment_ref = models.CharField(max_length=64, unique=True)
    data = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    note_ghl_id = models.CharField(max_length=64, blank=True, default="")
    opportunity_written_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    objects = ScopedManager.from_queryset(LocationOwnedQuerySet)()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "updated_at"])]

    def __str__(self) -> str:
        return f"payment {self.payment_ref}: {self.status}"
