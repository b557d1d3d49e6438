"""How people join a portal: an **Invitation** (from the agency or a client admin, to one location
with a role) or, where the agency allows it, a self-sign-up that leaves a **LocationRequest** for
the agency to approve. Imported into ``tenants.models``."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saas_platform.kernel.models import TimeStampedModel
from saas_platform.kernel.scoping import TenantOwnedModel

from .models import AgencyOwnedManager


class Invitation(TimeStampedModel, TenantOwnedModel):
    """An email invited to a location with a client role. The link carries a signed token of the
    id and `nonce`; accepting sets `accepted_at`, after which the link is spent."""

    TENANT_FIELD: ClassVar[str] = "agency"

    agency = models.ForeignKey("tenants.Agency", on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(
        "tenants.Location", on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    role = models.CharField(
        max_length=20,
        choices=[("client_admin", "Client admin"), ("client_member", "Client member")],
    )
    nonce = models.CharField(max_length=32, editable=False)
    invited_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = AgencyOwnedManager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["agency", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.email} → {self.location}"

    @property
    def is_spent(self) -> bool:
        return self.accepted_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class LocationRequest(TimeStampedModel, TenantOwnedModel):
    """A self-signed-up client asking the agency for a location (their business)."""

    TENANT_FIELD: ClassVar[str] = "agency"

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")

    agency = models.ForeignKey(
        "tenants.Agency", on_delete=models.CASCADE, related_name="location_requests"
    )
    requested_by = models.ForeignKey(
        "tenants.User", on_delete=models.CASCADE, related_name="location_requests"
    )
    business_name = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    location = models.ForeignKey(
        "tenants.Location", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = AgencyOwnedManager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.business_name} ({self.get_status_display()})"
