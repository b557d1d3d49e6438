"""Reporting rollups, their dirty markers and the scheduled e-mail report.

The dashboards read only these tables, never the mirror: every figure is a sum over a few
hundred rollup rows, whatever the size of the location. Days are calendar days in the location's
time zone. The rows are written only by `integrations.reporting.refresh` (set-based SQL); an empty
string in a dimension means "none" (a lead without a source, an unassigned opportunity).
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from saas_platform.kernel.models import TimeStampedModel
from saas_platform.kernel.scoping import ScopedManager, TenantOwnedModel
from tenants.models import Location, LocationOwnedQuerySet

LocationOwnedManager = ScopedManager.from_queryset(LocationOwnedQuerySet)


class Rollup(TenantOwnedModel):
    TENANT_FIELD: ClassVar[str] = "location"

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")

    objects = LocationOwnedManager()

    class Meta:
        abstract = True


class LeadDay(Rollup):
    """Leads created per local day, source and assigned agent, with their speed to lead:
    seconds from creation to the first routing assignment and to the first outbound message."""

    day = models.DateField()
    source = models.CharField(max_length=200, blank=True, default="")
    agent = models.CharField(max_length=64, blank=True, default="")
    leads = models.PositiveIntegerField(default=0)
    assigned = models.PositiveIntegerField(default=0)
    assign_seconds = models.BigIntegerField(default=0)  # summed over `assigned` leads
    responded = models.PositiveIntegerField(default=0)
    respond_seconds = models.BigIntegerField(default=0)  # summed over `responded` leads
    responded_5m = models.PositiveIntegerField("responded within 5 minutes", default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["location", "day", "source", "agent"], name="report_lead_day_unique"
            )
        ]


class PipelineStage(Rollup):
    """The pipeline as it stands: opportunities and their value per stage and status."""

    pipeline = models.CharField(max_length=64, blank=True, default="")
    stage = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=20, blank=True, default="")
    source = models.CharField(max_length=200, blank=True, default="")
    agent = models.CharField(max_length=64, blank=True, default="")
    opportunities = models.PositiveIntegerField(default=0)
    value = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["location", "pipeline", "stage", "status", "source", "agent"],
                name="report_pipeline_stage_unique",
            )
        ]


class OutcomeDay(Rollup):
    """Opportunities opened (by creation day) and won or lost (by the day of the status change)."""

    day = models.DateField()
    pipeline = models.CharField(max_length=64, blank=True, default="")
    source = models.CharField(max_length=200, blank=True, default="")
    agent = models.CharField(max_length=64, blank=True, default="")
    opened = models.PositiveIntegerField(default=0)
    won = models.PositiveIntegerField(default=0)
    lost = models.PositiveIntegerField(default=0)
    won_value = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    lost_value = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["location", "day", "pipeline", "source", "agent"],
                name="report_outcome_day_unique",
            )
        ]


class AppointmentDay(Rollup):
    """Appointments by the local day they start on."""

    day = models.DateField()
    agent = models.CharField(max_length=64, blank=True, default="")
    booked = models.PositiveIntegerField(default=0)  # every appointment but cancelled/invalid
    showed = models.PositiveIntegerField(default=0)
    no_show = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["location", "day", "agent"], name="report_appointment_day_unique"
            )
        ]


class RoutingDay(Rollup):
    """Current routing decisions per local day, agent and status."""

    day = models.DateField()
    agent = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=12)
    decisions = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["location", "day", "agent", "status"], name="report_routing_day_unique"
            )
        ]


class ReportLabel(Rollup):
    """Display names of the ids the rollups carry (agents, pipelines, stages) and the sources
    seen, copied at rebuild so a dashboard needs one small read for all of them and its filters."""

    class Kind(models.TextChoices):
        AGENT = "agent"
        PIPELINE = "pipeline"
        STAGE = "stage"
        SOURCE = "source"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    key = models.CharField(max_length=64)
    label = models.CharField(max_length=300)
    position = models.IntegerField(default=0)  # board order of stages

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["location", "kind", "key"], name="report_label_unique")
        ]


class ReportDirty(Rollup):
    """A location whose mirror or routing changed since its rollups were refreshed (its stale
    days, if any, are `ReportDirtyDay` rows). Marked in the writing transaction with a row lock,
    which the refresh's claim waits for (see `refresh`)."""

    marked_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["location"], name="report_dirty_unique")]


class ReportDirtyDay(Rollup):
    """A local day of a location whose day-keyed rollups are stale: the days of the records a
    write touched, before and after it (a deal reopened is taken off the day it was won)."""

    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["location", "day"], name="report_dirty_day_unique")
        ]


class ReportState(Rollup):
    """When a location's rollups were last rebuilt, and how long it took."""

    built_at = models.DateTimeField()
    build_ms = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["location"], name="report_state_unique")]


class ReportSchedule(TimeStampedModel, TenantOwnedModel):
    """The branded e-mail report of a location: weekly by default, to the agency's admins unless
    recipients are named."""

    TENANT_FIELD: ClassVar[str] = "location"

    class Frequency(models.TextChoices):
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly (Mondays)")
        MONTHLY = "monthly", _("Monthly (the 1st)")
        OFF = "off", _("Off")

    location = models.OneToOneField(
        Location, on_delete=models.CASCADE, related_name="report_schedule"
    )
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default="weekly")
    recipients = models.TextField(
        blank=True,
        default="",
        help_text=_(
            "E-mail addresses, one a line or separated by commas. Empty: the agency's "
            "owners and admins."
        ),
    )
    next_send_at = models.DateTimeField(null=True, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    objects = LocationOwnedManager()

    class Meta:
        indexes = [models.Index(fields=["frequency", "next_send_at"])]

    def __str__(self) -> str:
        return f"Report for {self.location}"
