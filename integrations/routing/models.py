"""Routing models.

* `AgentProfile`: how a GHL user of the location takes leads (weight, caps, specialisations,
  business hours, out-of-office);
* `RoutingRule`: one ordered rule — conditions, a pool, a strategy and an optional fallback pool;
* `RoutingRuleState`: the strategy state of a rule (round-robin pointers, smooth-weighted current
  weights), the row locked while a lead is routed through the rule;
* `AgentDayCount`: leads given to an agent on a local calendar day (the per-day cap);
* `RoutingDecision`: what happened to one lead and why — unroutable leads are decisions without
  an agent, so the unroutable queue is a filter.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from saas_platform.kernel.models import TimeStampedModel
from saas_platform.kernel.scoping import ScopedManager, TenantOwnedModel
from tenants.models import Location, LocationOwnedQuerySet

LocationOwnedManager = ScopedManager.from_queryset(LocationOwnedQuerySet)


class Strategy(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("Round robin")
    WEIGHTED = "weighted", _("Weighted")
    LEAST_LOADED = "least_loaded", _("Least loaded")
    STICKY = "sticky", _("Sticky (same agent for a returning contact)")


class AgentProfile(TimeStampedModel, TenantOwnedModel):
    TENANT_FIELD: ClassVar[str] = "location"

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    ghl_user_id = models.CharField("GHL user id", max_length=64)
    active = models.BooleanField(default=True)
    weight = models.PositiveIntegerField(default=1)
    max_per_day = models.PositiveIntegerField(null=True, blank=True)
    max_open = models.PositiveIntegerField("max open leads", null=True, blank=True)
    # {"area": ["Dubai Marina", "JLT"], "language": ["ar", "en"]}
    attributes = models.JSONField(default=dict, blank=True)
    # {"mon": [["09:00", "17:00"]], …}; empty = always available, a missing day = off that day.
    hours = models.JSONField(default=dict, blank=True)
    # Blank: the location's time zone.
    hours_timezone = models.CharField(max_length=64, blank=True, default="")
    out_of_office_from = models.DateTimeField(null=True, blank=True)
    out_of_office_until = models.DateTimeField(null=True, blank=True)

    objects = LocationOwnedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["location", "ghl_user_id"], name="agent_profile_unique_per_location"
            )
        ]

    def __str__(self) -> str:
        return self.ghl_user_id


class RoutingRule(TimeStampedModel, TenantOwnedModel):
    TENANT_FIELD: ClassVar[str] = "location"

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    position = models.PositiveIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    # {"all": [{"field": "source", "op": "equals", "value": "Zillow"}, {"any": […]}]}; {} = any lead
    conditions = models.JSONField(default=dict, blank=True)
    # {"agents": [GHL user ids], "match": {"attribute": "area", "field": "custom:<id>"}}
    pool = models.JSONField(default=dict)
    strategy = models.CharField(max_length=16, choices=Strategy.choices, default="round_robin")
    # Same shape as `pool`; {} = none. Served round robin.
    fallback_pool = models.JSONField(default=dict, blank=True)
    # Where a routed lead's opportunity is opened in GHL (both blank: no opportunity).
    pipeline_id = models.CharField(max_length=64, blank=True, default="")
    stage_id = models.CharField(max_length=64, blank=True, default="")
    # Set on a rule copied by the bulk "Apply a routing template": applying that template again
    # replaces the rules it copied and no others. Null: the location's own rule.
    copied_from = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = LocationOwnedManager()

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["location", "enabled", "position"])]

    def __str__(self) -> str:
        return self.name


class RoutingRuleState(TenantOwnedModel):
    TENANT_FIELD: ClassVar[str] = "location"

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    rule = models.OneToOneField(RoutingRule, on_delete=models.CASCADE, related_name="state")
    last_agent = models.CharField(max_length=64, blank=True, default="")
    fallback_last_agent = models.CharField(max_length=64, blank=True, default="")
    # Smooth weighted round robin: {agent id: current weight}.
    current_weights = models.JSONField(default=dict, blank=True)

    objects = LocationOwnedManager()

    def __str__(self) -> str:
        return f"state of rule {self.rule_id}"


class AgentDayCount(TenantOwnedModel):
    TENANT_FIELD: ClassVar[str] = "location"

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    agent_ghl_id = models.CharField(max_length=64)
    day = models.DateField()  # in the location's time zone
    count = models.PositiveIntegerField(default=0)

    objects = LocationOwnedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["location", "agent_ghl_id", "day"], name="agent_day_count_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.agent_ghl_id} {self.day}: {self.count}"


class RoutingDecision(TenantOwnedModel):
    TENANT_FIELD: ClassVar[str] = "location"

    class Status(models.TextChoices):
        ASSIGNED = "assigned", _("Assigned")
        FALLBACK = "fallback", _("Assigned from the fallback pool")
        UNROUTABLE = "unroutable", _("Unroutable")

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    contact_ghl_id = models.CharField(max_length=64)
    rule = models.ForeignKey(
        RoutingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule_name = models.CharField(max_length=120, blank=True, default="")  # as it was
    status = models.CharField(max_length=12, choices=Status.choices)
    agent_ghl_id = models.CharField(max_length=64, blank=True, default="")
    strategy = models.CharField(max_length=16, blank=True, default="")
    # [{"agent": id, "pool": "main"|"fallback", "eligible": bool, "reason": code, "detail": …}]
    candidates = models.JSONField(default=list, blank=True)
    summary = models.CharField(max_length=300, blank=True, default="")
    timings = models.JSONField(default=dict, blank=True)  # {"total_ms": …, "match_ms": …}
    # Re-routing keeps the history: only one decision per contact is current.
    is_current = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    # The assignment written to GHL (contact `assignedTo`): when, or why not yet.
    ghl_written_at = models.DateTimeField(null=True, blank=True)
    ghl_error = models.TextField(blank=True, default="")
    ghl_opportunity_id = models.CharField(max_length=64, blank=True, default="")

    objects = LocationOwnedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["location", "contact_ghl_id"],
                condition=Q(is_current=True),
                name="routing_decision_current_per_contact",
            )
        ]
        indexes = [
            models.Index(fields=["location", "status", "created_at"]),
            models.Index(fields=["location", "agent_ghl_id", "created_at"]),
            models.Index(fields=["location", "contact_ghl_id", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.contact_ghl_id} → {self.agent_ghl_id or self.status}"


class PendingLead(TenantOwnedModel):
    """A lead waiting to be routed and written to GHL: the routing queue.

    Rows are inserted when a lead arrives and deleted once its decision is written to GHL (or
    GHL refused it). A drain claims rows by pushing `due_at` a lease ahead, so a drain that dies
    leaves its rows to be claimed again once the lease runs out; a transient GHL error pushes
    `due_at` by a backoff instead. Routing and the GHL write are idempotent per contact, so a
    claim taken twice never assigns twice."""

    TENANT_FIELD: ClassVar[str] = "location"

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    contact_ghl_id = models.CharField(max_length=64)
    queued_at = models.DateTimeField()
    due_at = models.DateTimeField()  # claimable from then on
    attempts = models.PositiveIntegerField(default=0)

    objects = LocationOwnedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["location", "contact_ghl_id"], name="pending_lead_unique_per_location"
            )
        ]
        indexes = [models.Index(fields=["due_at", "id"])]

    def __str__(self) -> str:
        return f"pending {self.contact_ghl_id}"
