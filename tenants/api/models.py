"""An **ApiKey** lets a third party call `/api/v1/` as one agency or one of its locations.

Only a SHA-256 digest of the secret is stored (the secret is 256 random bits, so a slow hash adds
nothing); the short `prefix` is the visible, indexed half used to find the row. Imported into
``tenants.models``.
"""

from __future__ import annotations

from typing import ClassVar

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from saas_platform.kernel.models import TimeStampedModel
from saas_platform.kernel.scoping import TenantOwnedModel

from ..models import AgencyOwnedManager

# Every resource a key can be granted, each with `:read` and `:write`.
API_RESOURCES: tuple[str, ...] = (
    "locations",
    "contacts",
    "audit_log",
    # the second part of the API (issue #10)
    "pipelines",
    "opportunities",
    "appointments",
    "routing",
    "sync",
    "reports",
    "plans",
    "subscriptions",
)
API_SCOPES: tuple[str, ...] = tuple(
    f"{resource}:{access}" for resource in API_RESOURCES for access in ("read", "write")
)


class ApiKey(TimeStampedModel, TenantOwnedModel):
    TENANT_FIELD: ClassVar[str] = "agency"

    agency = models.ForeignKey("tenants.Agency", on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(
        "tenants.Location",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="api_keys",
        help_text="Empty: the key acts for the whole agency.",
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=24, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    scopes = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    rate_limit_per_minute = models.PositiveIntegerField(default=600)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    replaced_by = models.OneToOneField(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replaces",
        editable=False,
        help_text="The key made by rotating this one; this one stops working at its expiry.",
    )

    objects = AgencyOwnedManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"
        indexes = [models.Index(fields=["agency", "location"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def allows(self, scope: str) -> bool:
        """`contacts:read` is granted by `contacts:read` or `contacts:write`."""
        if scope in self.scopes:
            return True
        resource, _, access = scope.partition(":")
        return access == "read" and f"{resource}:write" in self.scopes
