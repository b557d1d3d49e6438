"""What a location may use (**LocationEntitlements**, written by billing through
`tenants.services.location_entitlements_set`) and what it has earned (**LocationRevenue**, paid
invoices recorded by billing, read by reporting through `tenants.selectors.location_revenue`): where
billing and integrations meet. Imported into ``tenants.models``."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saas_platform.kernel.models import TimeStampedModel
from saas_platform.kernel.scoping import ScopedManager, TenantOwnedModel

from .models import Location, LocationOwnedQuerySet


class LocationEntitlements(TimeStampedModel, TenantOwnedModel):
    """What a location may use, as its subscription's plan grants it. Written by billing through
    `tenants.services.location_entitlements_set` (billing and integrations meet here); features
    read it. Paused means the features stop, nothing is deleted; restored means the granted set
    applies again."""

    TENANT_FIELD: ClassVar[str] = "location"

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        GRACE = "grace", _("Payment overdue (grace period)")
        PAUSED = "paused", _("Paused (unpaid)")

    location = models.OneToOneField(Location, on_delete=models.CASCADE, related_name="entitlements")
    granted = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    grace_until = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager.from_queryset(LocationOwnedQuerySet)()

    class Meta:
        verbose_name_plural = "location entitlements"

    def __str__(self) -> str:
        return f"{self.location} · {self.get_state_display()}"

    @property
    def effective(self) -> dict[str, Any]:
        """What features may use right now: nothing while paused."""
        return {} if self.state == self.State.PAUSED else dict(self.granted)


class LocationRevenue(TenantOwnedModel):
    """Money a location paid its agency, one row per paid invoice (recorded by billing through
    `tenants.services.location_revenue_record`; reporting reads it without knowing billing)."""

    TENANT_FIELD: ClassVar[str] = "location"

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="revenue")
    # The payment's id where it was made (a Stripe invoice id): recording it twice is a no-op.
    reference = models.CharField(max_length=255, unique=True)
    paid_on = models.DateField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager.from_queryset(LocationOwnedQuerySet)()

    class Meta:
        ordering = ["-paid_on", "-id"]
        indexes = [models.Index(fields=["location", "paid_on"])]

    def __str__(self) -> str:
        return f"{self.location} · {self.amount} {self.currency.upper()} · {self.paid_on}"
