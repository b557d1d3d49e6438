"""The tenancy core.

An **Agency** is a GHL company that installed our app: the platform's customer. Its clients are
**Locations** (GHL sub-accounts), the tenants whose data the features work on. Each agency has a
**Branding** and serves its portal on **AgencyDomains**. People are **Users** of exactly one realm
(one agency, or the platform itself for operators) with **Memberships** carrying their roles.
Changes to any of it leave an **AuditLogEntry**.
"""

from __future__ import annotations

import re
import secrets
import zoneinfo
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saas_platform.kernel.models import TimeStampedModel
from saas_platform.kernel.scoping import ScopedManager, ScopedQuerySet, TenantOwnedModel

HEX_COLOUR = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour like #1f6feb.")
GHL_ID = RegexValidator(r"^[A-Za-z0-9]{1,64}$", "A GHL id is letters and digits only.")
# RFC 1123 host names, lower case, at least one dot or the `localhost` development suffix.
HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$"
)


def validate_hostname(value: str) -> None:
    if value != value.lower() or not HOSTNAME_RE.match(value):
        raise ValidationError(
            _(
                "Enter a domain name such as portal.example.com (lower case, no scheme, no port, "
                "no path)."
            )
        )


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("%(value)s is not a known IANA time zone (e.g. Asia/Dubai).") % {"value": repr(value)}
        )


class HttpsURLField(models.URLField):  # type: ignore[type-arg]
    """A URL field whose form reads a scheme-less entry as https (Django 6's default)."""

    def formfield(self, **kwargs: Any) -> Any:  # type: ignore[override]
        return super().formfield(**{"assume_scheme": "https", **kwargs})


# --- scoped querysets -----------------------------------------------------------------------------


class AgencyOwnedQuerySet(ScopedQuerySet[Any]):
    """Rows that belong to one agency (TENANT_FIELD = "agency")."""

    def for_agency(self, agency: Agency) -> AgencyOwnedQuerySet:
        return self.filter(agency=agency)


class LocationOwnedQuerySet(ScopedQuerySet[Any]):
    """Rows that belong to one location (TENANT_FIELD = "location")."""

    def for_location(self, location: Location) -> LocationOwnedQuerySet:
        return self.filter(location=location)

    def for_agency(self, agency: Agency) -> LocationOwnedQuerySet:
        return self.filter(location__agency=agency)


AgencyOwnedManager = ScopedManager.from_queryset(AgencyOwnedQuerySet)


# --- agencies ------------------------------------------------------------------------------------


class Agency(TimeStampedModel):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    name = models.CharField(max_length=200)
    slug = models.SlugField(
        max_length=50,
        unique=True,
        help_text=_("Used for the platform subdomain: <slug>.<platform domain>."),
    )
    ghl_company_id = models.CharField(
        "GHL company id", max_length=64, unique=True, null=True, blank=True, validators=[GHL_ID]
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    allow_self_signup = models.BooleanField(
        default=False, help_text=_("Let clients sign up on the portal without an invitation.")
    )
    allow_sso_join = models.BooleanField(
        "let CRM users join by single sign-on",
        default=False,
        help_text=_(
            "People signed in to your CRM who open the portal from its menu link get an "
            "account on their first visit: agency users as agency staff, sub-account users as "
            "members of their business. Off: only people who already have an account get in."
        ),
    )

    class Meta:
        verbose_name_plural = "agencies"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgencyDomain(TimeStampedModel, TenantOwnedModel):
    TENANT_FIELD: ClassVar[str] = "agency"

    class Kind(models.TextChoices):
        PLATFORM = "platform", _("Platform subdomain")
        CUSTOM = "custom", _("Custom domain")

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(max_length=253, unique=True, validators=[validate_hostname])
    kind = models.CharField(max_length=20, choices=Kind.choices)
    is_primary = models.BooleanField(default=False)
    verification_token = models.CharField(max_length=64, default="", blank=True, editable=False)
    verified_at = models.DateTimeField(null=True, blank=True)

    objects = AgencyOwnedManager()

    class Meta:
        ordering = ["-is_primary", "domain"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency"],
                condition=models.Q(is_primary=True),
                name="one_primary_domain_per_agency",
            ),
        ]

    def __str__(self) -> str:
        return self.domain

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    @staticmethod
    def new_verification_token() -> str:
        return secrets.token_urlsafe(24)


class Branding(TimeStampedModel, TenantOwnedModel):
    """How an agency's portal, emails and admin look. Nothing here mentions the platform or GHL."""

    TENANT_FIELD: ClassVar[str] = "agency"

    class Font(models.TextChoices):
        SYSTEM = "system", _("System UI")
        INTER = "inter", _("Inter")
        SERIF = "serif", _("Serif")
        ROUNDED = "rounded", _("Rounded")
        MONO = "mono", _("Monospace")

    agency = models.OneToOneField(Agency, on_delete=models.CASCADE, related_name="branding")
    display_name = models.CharField(max_length=200)
    logo_url = HttpsURLField(blank=True)
    favicon_url = HttpsURLField(blank=True)
    primary_color = models.CharField(max_length=7, default="#1f6feb", validators=[HEX_COLOUR])
    accent_color = models.CharField(max_length=7, default="#f59e0b", validators=[HEX_COLOUR])
    background_color = models.CharField(max_length=7, default="#ffffff", validators=[HEX_COLOUR])
    font = models.CharField(max_length=20, choices=Font.choices, default=Font.SYSTEM)
    support_email = models.EmailField(blank=True)
    sender_name = models.CharField(max_length=100, blank=True)

    objects = AgencyOwnedManager()

    def __str__(self) -> str:
        return self.display_name


# --- locations -----------------------------------------------------------------------------------


class Location(TimeStampedModel, TenantOwnedModel):
    """A GHL location (sub-account) under an agency: the client tenant."""

    TENANT_FIELD: ClassVar[str] = "agency"

    class Industry(models.TextChoices):
        REAL_ESTATE = "real_estate", _("Real estate")
        HOME_SERVICES = "home_services", _("Home services")
        HEALTH_CLINIC = "health_clinic", _("Health clinic")
        GENERIC = "generic", _("Generic")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        ARCHIVED = "archived", _("Archived")

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="locations")
    name = models.CharField(max_length=200)
    ghl_location_id = models.CharField(
        "GHL location id", max_length=64, unique=True, null=True, blank=True, validators=[GHL_ID]
    )
    industry = models.CharField(max_length=20, choices=Industry.choices, default=Industry.GENERIC)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)

    objects = AgencyOwnedManager()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["agency", "name"])]

    def __str__(self) -> str:
        return self.name


# --- people --------------------------------------------------------------------------------------


class UserManager(BaseUserManager["User"]):
    """Users are looked up within a realm: an agency, or the platform (agency=None)."""

    def get_by_natural_key(self, username: str | None) -> User:
        # Used by `createsuperuser`/`changepassword`: the platform realm.
        return self.get(agency=None, email__iexact=username)

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True, agency=None)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person in one realm. The same email may exist once per agency (each agency's clients know
    nothing of the others) and once on the platform (operators)."""

    agency = models.ForeignKey(
        Agency,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="users",
        help_text=_(
            "The agency whose portal this account belongs to; empty for platform operators."
        ),
    )
    email = models.EmailField()
    full_name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        default=False, help_text=_("Platform operator: may use the staff admin.")
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint("agency", Lower("email"), name="unique_email_per_agency"),
            models.UniqueConstraint(
                Lower("email"),
                condition=models.Q(agency__isnull=True),
                name="unique_email_per_platform",
            ),
            models.CheckConstraint(
                condition=models.Q(is_staff=False) | models.Q(agency__isnull=True),
                name="operators_belong_to_the_platform",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Membership(TimeStampedModel, TenantOwnedModel):
    """A user's role in their agency (location empty) or in one of its locations."""

    TENANT_FIELD: ClassVar[str] = "agency"

    class Role(models.TextChoices):
        AGENCY_OWNER = "agency_owner", _("Agency owner")
        AGENCY_ADMIN = "agency_admin", _("Agency admin")
        AGENCY_STAFF = "agency_staff", _("Agency staff")
        CLIENT_ADMIN = "client_admin", _("Client admin")
        CLIENT_MEMBER = "client_member", _("Client member")

    AGENCY_ROLES: ClassVar[frozenset[str]] = frozenset(
        {Role.AGENCY_OWNER, Role.AGENCY_ADMIN, Role.AGENCY_STAFF}
    )
    AGENCY_ADMIN_ROLES: ClassVar[frozenset[str]] = frozenset({Role.AGENCY_OWNER, Role.AGENCY_ADMIN})
    CLIENT_ROLES: ClassVar[frozenset[str]] = frozenset({Role.CLIENT_ADMIN, Role.CLIENT_MEMBER})

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="memberships")
    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, null=True, blank=True, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)

    objects = AgencyOwnedManager()

    class Meta:
        ordering = ["agency", "location", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "location"], name="one_membership_per_user_and_location"
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(location__isnull=True),
                name="one_agency_membership_per_user",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(
                        location__isnull=True,
                        role__in=["agency_owner", "agency_admin", "agency_staff"],
                    )
                    | models.Q(location__isnull=False, role__in=["client_admin", "client_member"])
                ),
                name="agency_roles_have_no_location_client_roles_have_one",
            ),
        ]

    def clean(self) -> None:
        if self.user_id and self.agency_id and self.user.agency_id != self.agency_id:
            raise ValidationError({"user": "This person belongs to another agency."})
        if self.location is not None and self.location.agency_id != self.agency_id:
            raise ValidationError({"location": "This location belongs to another agency."})
        if self.role in self.AGENCY_ROLES and self.location_id:
            raise ValidationError({"location": "Agency roles apply to the whole agency."})
        if self.role in self.CLIENT_ROLES and not self.location_id:
            raise ValidationError({"location": "Client roles need a location."})

    def __str__(self) -> str:
        where = self.location.name if self.location is not None else self.agency.name
        return f"{self.user} · {self.get_role_display()} · {where}"


# --- audit ---------------------------------------------------------------------------------------


class AuditLogEntry(TenantOwnedModel):
    """Who changed what in a tenant, with the values before and after."""

    TENANT_FIELD: ClassVar[str] = "agency"

    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, null=True, blank=True, related_name="audit_entries"
    )
    location = models.ForeignKey(
        Location, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_entries"
    )
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_entries"
    )
    action = models.CharField(max_length=100, help_text=_("Dotted name, e.g. location.updated."))
    target_type = models.CharField(max_length=100)
    target_id = models.CharField(max_length=64)
    target_repr = models.CharField(max_length=200)
    changes = models.JSONField(
        default=dict, blank=True, help_text=_("{field: [old, new]} for every field that changed.")
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = AgencyOwnedManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit log entries"
        indexes = [models.Index(fields=["agency", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.action} {self.target_repr}"


# Invitations and location requests, entitlements and revenue live beside this module (kept
# under ~400 lines).
from .agency_plan_models import AgencyEntitlements as AgencyEntitlements  # noqa: E402
from .api.models import ApiKey as ApiKey  # noqa: E402
from .commerce_models import LocationEntitlements as LocationEntitlements  # noqa: E402
from .commerce_models import LocationRevenue as LocationRevenue  # noqa: E402
from .events_models import TenantEvent as TenantEvent  # noqa: E402
from .onboarding_models import Invitation as Invitation  # noqa: E402
from .onboarding_models import LocationRequest as LocationRequest  # noqa: E402
