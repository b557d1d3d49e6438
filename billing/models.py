"""Billing: agencies' Stripe Connect accounts, the plans sold (by agencies to their clients, and by
the platform to agencies), clients' subscriptions, and the inbox of Stripe events.

Money is an integer amount in the currency's minor unit, as Stripe counts it."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saas_platform.kernel.models import TimeStampedModel
from saas_platform.kernel.scoping import ScopedManager, TenantOwnedModel
from tenants.models import (
    Agency,
    AgencyOwnedManager,
    AgencyOwnedQuerySet,
    Location,
    LocationOwnedQuerySet,
)

from .currencies import major_units


class StripeAccount(TimeStampedModel, TenantOwnedModel):
    """An agency's Stripe Connect account: where its clients pay. A copy of what Stripe says,
    refreshed by `connect_account_refresh` and by `account.updated` events."""

    TENANT_FIELD: ClassVar[str] = "agency"

    agency = models.OneToOneField(Agency, on_delete=models.CASCADE, related_name="stripe_account")
    stripe_account_id = models.CharField(max_length=64, unique=True)
    charges_enabled = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    details_submitted = models.BooleanField(default=False)
    # Stripe's `requirements.currently_due`: what the agency still has to provide.
    requirements_due = models.JSONField(default=list, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    objects = AgencyOwnedManager()

    def __str__(self) -> str:
        return self.stripe_account_id

    @property
    def ready(self) -> bool:
        return self.charges_enabled and self.payouts_enabled


class PlanQuerySet(AgencyOwnedQuerySet):
    def platform(self) -> Any:
        """The platform's own plans for agencies (no agency owns them)."""
        return self.unscoped().filter(agency__isnull=True)


class Plan(TimeStampedModel, TenantOwnedModel):
    """A plan for sale: an agency's (to its clients, on its connected account) or, with no
    agency, the platform's (to agencies, on the platform account)."""

    TENANT_FIELD: ClassVar[str] = "agency"

    class Interval(models.TextChoices):
        MONTH = "month", _("Monthly")
        YEAR = "year", _("Yearly")

    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, null=True, blank=True, related_name="plans"
    )
    name = models.CharField(max_length=120)
    amount = models.PositiveIntegerField(help_text=_("Price in the currency's minor unit (cents)."))
    currency = models.CharField(
        max_length=3, help_text=_("ISO code, lower case (usd, eur, aed …).")
    )
    interval = models.CharField(max_length=10, choices=Interval.choices, default=Interval.MONTH)
    trial_days = models.PositiveSmallIntegerField(default=0)
    entitlements = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)
    stripe_product_id = models.CharField(max_length=64, blank=True, default="")
    stripe_price_id = models.CharField(max_length=64, blank=True, default="")
    # Bumped whenever the price changes: part of the idempotency key of the new Stripe price.
    revision = models.PositiveIntegerField(default=0)

    objects = ScopedManager.from_queryset(PlanQuerySet)()

    class Meta:
        ordering = ["agency", "amount", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.price_display}/{self.interval})"

    @property
    def price_display(self) -> str:
        return f"{major_units(self.amount, self.currency)} {self.currency.upper()}"


class Subscription(TimeStampedModel, TenantOwnedModel):
    """A client's (location's) subscription to one of its agency's plans: our copy of Stripe's
    object, only ever written from a fresh read of it."""

    TENANT_FIELD: ClassVar[str] = "location"

    class Status(models.TextChoices):
        INCOMPLETE = "incomplete", _("Incomplete")
        INCOMPLETE_EXPIRED = "incomplete_expired", _("Incomplete, expired")
        TRIALING = "trialing", _("Trialing")
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Past due")
        CANCELED = "canceled", _("Canceled")
        UNPAID = "unpaid", _("Unpaid")
        PAUSED = "paused", _("Paused")

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="subscriptions")
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, null=True, blank=True, related_name="subscriptions"
    )
    stripe_account_id = models.CharField(max_length=64)
    stripe_subscription_id = models.CharField(max_length=64, unique=True)
    stripe_customer_id = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=20, choices=Status.choices)
    current_period_end = models.DateTimeField(null=True, blank=True)
    trial_end = models.DateTimeField(null=True, blank=True)
    # The client asked to stop at the period end: no next invoice, the plan ends then.
    cancel_at_period_end = models.BooleanField(default=False)
    # The platform's cut of each invoice, as Stripe holds it on the subscription.
    application_fee_percent = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True
    )
    grace_until = models.DateTimeField(null=True, blank=True)
    last_reminder_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager.from_queryset(LocationOwnedQuerySet)()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "grace_until"])]

    def __str__(self) -> str:
        return self.stripe_subscription_id


class StripeEvent(models.Model):
    """One Stripe event delivery (ARCHITECTURE pattern 7): stored with its raw body under a unique
    (source, event id) before the 2xx, then processed by re-reading the object it is about."""

    class Source(models.TextChoices):
        PLATFORM = "platform", _("Platform account")
        CONNECT = "connect", _("Connected accounts")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PROCESSING = "processing", _("Processing")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed (will retry)")
        DEAD = "dead", _("Dead letter")

    source = models.CharField(max_length=10, choices=Source.choices)
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=100)
    account = models.CharField(max_length=64, blank=True, default="", db_index=True)
    object_id = models.CharField(max_length=255, blank=True, default="")
    livemode = models.BooleanField(default=False)
    body = models.BinaryField()
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "event_id"], name="one_row_per_stripe_event")
        ]
        indexes = [models.Index(fields=["status", "received_at"])]

    def __str__(self) -> str:
        return f"{self.source}:{self.event_type} {self.event_id}"


class PaymentAutomation(TimeStampedModel, TenantOwnedModel):
    """A client's rule: when one of its opportunities is marked won in GHL, bill the contact
    for the opportunity's value on the agency's connected account; when paid, GHL is told."""

    TENANT_FIELD: ClassVar[str] = "location"

    class Action(models.TextChoices):
        INVOICE = "invoice", "Send a Stripe invoice"

    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, related_name="payment_automations"
    )
    name = models.CharField(max_length=120)
    # Empty: an opportunity won in any pipeline.
    pipeline_ghl_id = models.CharField(max_length=64, blank=True, default="")
    action = models.CharField(max_length=20, choices=Action.choices, default=Action.INVOICE)
    currency = models.CharField(max_length=3, help_text="ISO code, lower case (usd, eur, aed …).")
    days_until_due = models.PositiveSmallIntegerField(default=7)
    # Where the paid opportunity moves in its pipeline (empty: it stays where it is).
    paid_stage_ghl_id = models.CharField(max_length=64, blank=True, default="")
    enabled = models.BooleanField(default=True)

    objects = ScopedManager.from_queryset(LocationOwnedQuerySet)()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class PaymentRequest(TimeStampedModel, TenantOwnedModel):
    """What an automation asked one contact to pay for one won opportunity: one per (rule,
    opportunity), so a replayed won event never bills twice."""

    TENANT_FIELD: ClassVar[str] = "location"

    class Status(models.TextChoices):
        PENDING = "pending", "Being created"
        SENT = "sent", "Sent"
        PAID = "paid", "Paid"
        VOID = "void", "Void"
        FAILED = "failed", "Failed"

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    automation = models.ForeignKey(
        PaymentAutomation, on_delete=models.PROTECT, related_name="requests"
    )
    opportunity_ghl_id = models.CharField(max_length=64)
    opportunity_name = models.CharField(max_length=300, blank=True, default="")
    pipeline_ghl_id = models.CharField(max_length=64, blank=True, default="")
    contact_ghl_id = models.CharField(max_length=64, blank=True, default="")
    customer_email = models.EmailField(blank=True, default="")
    amount = models.PositiveIntegerField(help_text="In the currency's minor unit (cents).")
    currency = models.CharField(max_length=3)
    application_fee_amount = models.PositiveIntegerField(default=0)
    stripe_account_id = models.CharField(max_length=64, blank=True, default="")
    stripe_customer_id = models.CharField(max_length=64, blank=True, default="")
    stripe_object_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    hosted_url = models.URLField(max_length=500, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True, default="")
    paid_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager.from_queryset(LocationOwnedQuerySet)()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["automation", "opportunity_ghl_id"], name="one_request_per_rule_and_opp"
            )
        ]

    def __str__(self) -> str:
        return f"{self.opportunity_name or self.opportunity_ghl_id}: {self.amount_display}"

    @property
    def amount_display(self) -> str:
        return f"{major_units(self.amount, self.currency):,} {self.currency.upper()}"


class PaymentTrigger(models.Model):
    """The automations' claim on one outbox event ("opportunity.won"): taken once, so however
    often the consumer runs, an event is acted on once (the outbox's own `dispatched_at` belongs
    to the outbound webhooks)."""

    event = models.OneToOneField("tenants.TenantEvent", on_delete=models.CASCADE, related_name="+")
    claimed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return str(self.event_id)


# The platform's subscriptions of agencies live beside this module.
from .agency_models import AgencySubscription as AgencySubscription  # noqa: E402
