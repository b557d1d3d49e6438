"""What an agency may use on the platform (**AgencyEntitlements**), as the platform plan it pays
for grants it. Written by billing through `tenants.services.agency_entitlements_set`; tenants
enforces it (e.g. `max_locations` when a location is added). Imported into ``tenants.models``."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models

from saas_platform.kernel.models import TimeStampedModel
from saas_platform.kernel.scoping import TenantOwnedModel

from .models import Agency, AgencyOwnedManager


class AgencyEntitlements(TimeStampedModel, TenantOwnedModel):
    """An agency without a row has never bought a platform plan and is not limited (the
    platform's behaviour before plans for agencies existed). Paused: the platform plan is unpaid
    or ended; nothing is deleted, but nothing new that the plan governs may be added."""

    TENANT_FIELD: ClassVar[str] = "agency"

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        GRACE = "grace", "Payment overdue (grace period)"
        PAUSED = "paused", "Paused (unpaid)"

    agency = models.OneToOneField(
        Agency, on_delete=models.CASCADE, related_name="platform_entitlements"
    )
    granted = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    grace_until = models.DateTimeField(null=True, blank=True)

    objects = AgencyOwnedManager()

    class Meta:
        verbose_name_plural = "agency entitlements"

    def __str__(self) -> str:
        return f"{self.agency} · {self.get_state_display()}"

    @property
    def effective(self) -> dict[str, Any]:
        """What the agency may use right now: nothing while paused."""
        return {} if self.state == self.State.PAUSED else dict(self.granted)
