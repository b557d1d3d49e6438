"""An agency's subscription to one of the platform's own plans, on the platform's Stripe
account (no connected account, no application fee). Imported into ``billing.models``."""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from saas_platform.kernel.models import TimeStampedModel
from saas_platform.kernel.scoping import TenantOwnedModel
from tenants.models import Agency, AgencyOwnedManager


class AgencySubscription(TimeStampedModel, TenantOwnedModel):
    """Our copy of Stripe's subscription object, only ever written from a fresh read of it."""

    TENANT_FIELD: ClassVar[str] = "agency"

    class Status(models.TextChoices):  # Stripe's, as for a client's subscription
        INCOMPLETE = "incomplete", "Incomplete"
        INCOMPLETE_EXPIRED = "incomplete_expired", "Incomplete, expired"
        TRIALING = "trialing", "Trialing"
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Past due"
        CANCELED = "canceled", "Canceled"
        UNPAID = "unpaid", "Unpaid"
        PAUSED = "paused", "Paused"

    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, related_name="platform_subscriptions"
    )
    plan = models.ForeignKey(
        "billing.Plan",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="agency_subscriptions",
    )
    stripe_subscription_id = models.CharField(max_length=64, unique=True)
    stripe_customer_id = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=20, choices=Status.choices)
    current_period_end = models.DateTimeField(null=True, blank=True)
    trial_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    grace_until = models.DateTimeField(null=True, blank=True)
    last_reminder_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    objects = AgencyOwnedManager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "grace_until"], name="agencysub_status_grace")]

    def __str__(self) -> str:
        return self.stripe_subscription_id
