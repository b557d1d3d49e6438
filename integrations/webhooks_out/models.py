"""Customers' webhook endpoints and the deliveries of events to them."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saas_platform.kernel.crypto import EncryptedTextField
from saas_platform.kernel.models import TimeStampedModel
from saas_platform.kernel.scoping import ScopedManager, ScopedQuerySet, TenantOwnedModel
from tenants.models import Agency, AgencyOwnedManager, HttpsURLField, Location, TenantEvent, User


class WebhookEndpoint(TimeStampedModel, TenantOwnedModel):
    """A URL receiving the events of one location, or (location empty) of every location of the
    agency."""

    TENANT_FIELD: ClassVar[str] = "agency"

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(
        Location,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: events of every client of the agency."),
    )
    url = HttpsURLField("URL", max_length=2048)
    description = models.CharField(max_length=200, blank=True, default="")
    event_types = models.JSONField(default=list, help_text=_("The event types sent here."))
    # Standard Webhooks `whsec_` secret; the previous one keeps signing (alongside) for a while
    # after a roll, so the receiver can switch without dropping events.
    secret = EncryptedTextField()
    previous_secret = EncryptedTextField(blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True, default="")
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Failed attempts in a row, and since when every attempt has failed (NULL: last one worked).
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = AgencyOwnedManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["agency", "location", "enabled"])]

    def __str__(self) -> str:
        return self.description or self.url.split("?", 1)[0][:80]

    def signing_secrets(self, now: datetime | None = None) -> list[str]:
        """The secrets each delivery is signed with: the current one, and the previous one
        until its overlap ends."""
        moment = now or timezone.now()
        expires = self.previous_secret_expires_at
        if self.previous_secret and expires is not None and expires > moment:
            return [self.secret, self.previous_secret]
        return [self.secret]


class DeliveryQuerySet(ScopedQuerySet["WebhookDelivery"]):
    def for_endpoint(self, endpoint: WebhookEndpoint) -> DeliveryQuerySet:
        return self.filter(endpoint=endpoint)

    def for_agency(self, agency: Agency) -> DeliveryQuerySet:
        return self.filter(endpoint__agency=agency)


class WebhookDelivery(TenantOwnedModel):
    """One event to one endpoint: unique, so fan-out may run twice and still send once."""

    TENANT_FIELD: ClassVar[str] = "endpoint"

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Delivered")
        FAILED = "failed", "Failed"  # not retried: the endpoint is gone (410) or disabled
        DEAD = "dead", "Gave up"  # every retry failed

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(TenantEvent, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True, default="")
    error = models.CharField(max_length=500, blank=True, default="")
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager.from_queryset(DeliveryQuerySet)()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="one_delivery_per_event")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="webhook_delivery_due",
            ),
            models.Index(fields=["endpoint", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event.type} → {self.endpoint}"
