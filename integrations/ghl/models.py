"""What we keep about each GHL installation.

An **installation** is one (GHL company, GHL location) pair our app is installed on: a company
(agency) token has an empty ``ghl_location_id``; every location has its own row and its own token
pair. The secrets live apart, in **GhlToken**, encrypted, never shown or logged. OAuth flows we
start are bound server-side to a **GhlOAuthState**. Every call to GHL leaves a **GhlCallLog** row.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saas_platform.kernel.crypto import EncryptedTextField
from saas_platform.kernel.models import TimeStampedModel
from saas_platform.kernel.scoping import TenantOwnedModel
from tenants.models import Agency, AgencyOwnedManager, Location, User

STATE_LIFETIME = timedelta(minutes=15)


class GhlInstallation(TimeStampedModel, TenantOwnedModel):
    TENANT_FIELD: ClassVar[str] = "agency"

    class UserType(models.TextChoices):
        COMPANY = "Company", _("Agency (company)")
        LOCATION = "Location", _("Location")

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for tokens"  # INSTALL seen before the token exchange
        HEALTHY = "healthy", _("Healthy")
        NEEDS_REAUTH = "needs_reauth", _("Needs reconnecting")
        PAUSED = "paused", "Paused by GHL"  # "Location is not active": comes back by itself
        UNINSTALLED = "uninstalled", _("Uninstalled")

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="ghl_installations")
    location = models.ForeignKey(
        Location,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="ghl_installations",
    )
    ghl_company_id = models.CharField("GHL company id", max_length=64)
    ghl_location_id = models.CharField("GHL location id", max_length=64, blank=True, default="")
    user_type = models.CharField(max_length=10, choices=UserType.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    scopes = models.TextField(blank=True, default="")
    plan_id = models.CharField(max_length=64, blank=True, default="")
    installed_by = models.CharField("GHL user id", max_length=64, blank=True, default="")
    is_bulk = models.BooleanField(default=False)
    install_to_future_locations = models.BooleanField(default=False)
    approve_all_locations = models.BooleanField(default=False)
    access_expires_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)
    # The newest webhook time applied, so an older INSTALL never undoes a newer UNINSTALL.
    last_event_at = models.DateTimeField(null=True, blank=True)
    uninstalled_at = models.DateTimeField(null=True, blank=True)

    objects = AgencyOwnedManager()

    class Meta:
        verbose_name = "GHL connection"
        ordering = ["ghl_company_id", "ghl_location_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ghl_company_id", "ghl_location_id"],
                name="one_installation_per_ghl_resource",
            ),
        ]
        indexes = [models.Index(fields=["status", "access_expires_at"])]

    def __str__(self) -> str:
        target = self.location.name if self.location is not None else self.agency.name
        return f"{target} ({self.get_user_type_display()})"

    @property
    def resource_id(self) -> str:
        """What GHL keys rate limits and tokens by: the location, else the company."""
        return self.ghl_location_id or self.ghl_company_id


class GhlToken(models.Model):
    """The secret half of an installation, kept apart so no query for install data drags tokens
    along and no admin form can show them."""

    installation = models.OneToOneField(
        GhlInstallation, on_delete=models.CASCADE, primary_key=True, related_name="token"
    )
    access_token = EncryptedTextField()
    refresh_token = EncryptedTextField(blank=True, default="")
    expires_at = models.DateTimeField()
    # Bumped on every rotation: a caller holding generation N knows N+1 is fresher.
    generation = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"token #{self.generation} of installation {self.installation_id}"

    def __repr__(self) -> str:
        return f"<GhlToken installation={self.installation_id} generation={self.generation}>"


class GhlOAuthState(models.Model):
    """An OAuth flow we started: the callback must present this exact, unused, fresh value."""

    TENANT_FIELD: ClassVar[str] = "agency"

    state = models.CharField(max_length=64, unique=True)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, null=True, blank=True)
    started_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    consumed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"OAuth flow started {self.created_at:%Y-%m-%d %H:%M}"

    @staticmethod
    def new_value() -> str:
        return secrets.token_urlsafe(32)


class GhlCallLog(TenantOwnedModel):
    """One call to GHL's API: enough to debug a failure or a budget, never a secret."""

    TENANT_FIELD: ClassVar[str] = "agency"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="ghl_calls")
    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, null=True, blank=True, related_name="ghl_calls"
    )
    installation = models.ForeignKey(
        GhlInstallation, on_delete=models.SET_NULL, null=True, blank=True, related_name="calls"
    )
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    status = models.PositiveSmallIntegerField(null=True, blank=True)  # empty: no answer
    latency_ms = models.PositiveIntegerField(default=0)
    priority = models.CharField(max_length=12, blank=True, default="")
    attempt = models.PositiveSmallIntegerField(default=1)
    rate_remaining = models.IntegerField(null=True, blank=True)
    daily_remaining = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    objects = AgencyOwnedManager()

    class Meta:
        verbose_name = "GHL API call"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["agency", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status or 'no answer'}"
