"""Admin screens of routing decisions: read-only, filterable down to the unroutable queue, each
candidate's outcome in words, and "route again"; plus the decisions shown on a contact's page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from saas_platform.kernel.errors import ApplicationError
from tenants.admin.scoping import (
    AgencyRelatedFilter,
    AgencyScopedAdmin,
    ReadOnlyAdminMixin,
    StaffAdminMixin,
    can_change,
    is_operator,
)
from tenants.request import actor

from .mirror.models import MirrorContact
from .routing.assign import lead_reroute
from .routing.decide import REASONS
from .routing.models import RoutingDecision

# --- decisions -----------------------------------------------------------------------------------


class _ValuesFilter(admin.SimpleListFilter):
    """Choices from the values the admin's own (scoped) queryset holds."""

    field = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        values = (
            model_admin.get_queryset(request)
            .exclude(**{self.field: ""})
            .order_by(self.field)
            .values_list(self.field, flat=True)
            .distinct()
        )
        return [(value, value) for value in values[:200]]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> Any:
        value = self.value()
        return queryset.filter(**{self.field: value}) if value else queryset


class AgentFilter(_ValuesFilter):
    title, parameter_name, field = "agent", "agent", "agent_ghl_id"


class RuleFilter(_ValuesFilter):
    title, parameter_name, field = "rule", "rule", "rule_name"


class QueueFilter(admin.SimpleListFilter):
    title, parameter_name = "unroutable queue", "queue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return [("waiting", "Waiting for an agent (current, unroutable)")]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> Any:
        if self.value() == "waiting":
            return queryset.filter(is_current=True, status=RoutingDecision.Status.UNROUTABLE)
        return queryset


class RoutingDecisionAdmin(ReadOnlyAdminMixin, AgencyScopedAdmin):
    agency_path = "location__agency"
    list_display = ["created_at", "contact_ghl_id", "location", "status", "agent_ghl_id",
                    "rule_name", "summary", "is_current", "ghl_state"]  # fmt: skip
    list_filter = [QueueFilter, "status", AgentFilter, RuleFilter, "is_current", "created_at",
                   ("location", AgencyRelatedFilter)]  # fmt: skip
    search_fields = ["=contact_ghl_id"]
    search_help_text = "The contact's GHL id."
    date_hierarchy = "created_at"
    list_select_related = ["location"]
    ordering = ["-created_at", "-id"]
    show_full_result_count = False
    actions = ["route_again"]
    fields = readonly_fields = ("location", "contact", "status", "agent_ghl_id", "rule_name",
                                "strategy", "summary", "candidates_table", "timings_text",
                                "is_current", "created_at", "ghl_written_at", "ghl_error",
                                "ghl_opportunity_id")  # fmt: skip

    @admin.display(description=gettext_lazy("GHL"))
    def ghl_state(self, obj: RoutingDecision) -> str:
        if obj.ghl_written_at:
            return "written"
        return obj.ghl_error[:60] or "—"

    @admin.display(description=gettext_lazy("Contact"))
    def contact(self, obj: RoutingDecision) -> str:
        contact = (
            MirrorContact.objects.for_location(obj.location)
            .filter(ghl_id=obj.contact_ghl_id)
            .first()
        )
        url = _change_url(self.admin_site.name, "mirrorcontact", contact.pk) if contact else None
        if contact is None or url is None:
            return obj.contact_ghl_id
        return format_html('<a href="{}">{}</a> ({})', url, contact, obj.contact_ghl_id)

    @admin.display(description=gettext_lazy("Candidates"))
    def candidates_table(self, obj: RoutingDecision) -> str:
        return candidates_html(obj.candidates)

    @admin.display(description=gettext_lazy("Timings"))
    def timings_text(self, obj: RoutingDecision) -> str:
        return ", ".join(f"{k.removesuffix('_ms')} {v} ms" for k, v in obj.timings.items()) or "—"

    def has_reroute_permission(self, request: HttpRequest) -> bool:
        return can_change(request)

    @admin.action(
        description=gettext_lazy("Route again (and write the new agent to GHL)"),
        permissions=["reroute"],
    )
    def route_again(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        if not self.has_reroute_permission(request):
            raise PermissionDenied
        done: list[str] = []
        for contact_id, location in {(d.contact_ghl_id, d.location) for d in queryset}:
            try:
                decision = lead_reroute(
                    location=location, contact_ghl_id=contact_id, acting_user=actor(request)
                )
            except ApplicationError as error:
                self.refuse(request, error)
                continue
            done.append(f"{contact_id} → {decision.agent_ghl_id or 'unroutable'}")
        if done:
            self.message_user(
                request,
                _("Routed again: %(value)s. The GHL write is queued.")
                % {"value": "; ".join(sorted(done))},
                messages.SUCCESS,
            )


class StaffRoutingDecisionAdmin(StaffAdminMixin, RoutingDecisionAdmin):
    list_filter = [QueueFilter, "status", AgentFilter, RuleFilter, "is_current", "created_at"]

    def has_reroute_permission(self, request: HttpRequest) -> bool:
        return is_operator(request)


def candidates_html(candidates: list[dict[str, Any]]) -> str:
    """Every agent considered, in order, with what made them eligible or not."""
    if not candidates:
        return "No agent was considered (no rule matched)."

    def verdict(c: dict[str, Any]) -> str:
        if c.get("chosen"):
            return "✔ chosen"
        if c["eligible"]:
            return "eligible"
        return "skipped: " + str(REASONS.get(c["reason"], c["reason"]))

    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        ((c["agent"], c["pool"], verdict(c), c.get("detail", "")) for c in candidates),
    )
    return format_html(
        "<table><thead><tr><th>Agent</th><th>Pool</th><th>Outcome</th><th>Detail</th></tr>"
        "</thead><tbody>{}</tbody></table>",
        rows,
    )


def contact_decisions_html(contact: MirrorContact, site_name: str) -> str:
    """The routing history of a contact, newest first (for the contact's admin page)."""
    decisions = (
        RoutingDecision.objects.for_location(contact.location)
        .filter(contact_ghl_id=contact.ghl_id)
        .order_by("-created_at", "-id")[:50]
    )
    rows = [
        (
            _change_url(site_name, "routingdecision", d.pk) or "#",
            d.created_at.strftime("%Y-%m-%d %H:%M"),
            d.get_status_display(),
            d.agent_ghl_id or "—",
            d.rule_name or "—",
            d.summary,
            "current" if d.is_current else "history",
        )
        for d in decisions
    ]
    if not rows:
        return "Not routed."
    body = format_html_join(
        "",
        '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>'
        "<td>{}</td></tr>",
        rows,
    )
    return format_html(
        "<table><thead><tr><th>When</th><th>Status</th><th>Agent</th><th>Rule</th>"
        "<th>Why</th><th></th></tr></thead><tbody>{}</tbody></table>",
        body,
    )


def _change_url(site_name: str, model: str, pk: int) -> str | None:
    try:
        return reverse(f"{site_name}:integrations_{model}_change", args=[pk])
    except NoReverseMatch:  # not on this admin site
        return None
