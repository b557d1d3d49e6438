"""Admin screens of lead routing: the ordered rules and the agent profiles (saved through the
routing services, so a bad rule or profile is refused with their message), the decisions
read-only with their reasons and "route again", and the decisions of a contact. The simulator's
page is in `admin_simulate`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _

from saas_platform.kernel.errors import ApplicationError
from tenants.admin.scoping import (
    AgencyRelatedFilter,
    AgencyScopedAdmin,
    StaffAdminMixin,
)
from tenants.entitlements import feature_require, location_may
from tenants.request import actor

from .admin_connectors import JSONText
from .admin_simulate import SimulateMixin
from .routing.models import AgentProfile, RoutingRule
from .routing.services import (
    agent_profile_delete,
    agent_profile_save,
    agent_profile_validate,
    rule_delete,
    rule_save,
    rule_validate,
    rules_naming_agent,
)


def _refused(error: ApplicationError) -> forms.ValidationError:
    return forms.ValidationError(error.message)


# --- rules ---------------------------------------------------------------------------------------


class RoutingRuleForm(forms.ModelForm[RoutingRule]):
    position = forms.IntegerField(
        min_value=0, required=False, help_text=_("Rules are tried in this order. Empty: last.")
    )
    conditions = JSONText(
        shape=dict,
        required=False,
        help_text=_(
            'Empty: every lead. {"all": [{"field": "source", "op": "equals", "value": '
            '"Zillow"}]}; ops: equals, in, contains, between, gte, lte, postal_in.'
        ),
    )
    pool = JSONText(
        shape=dict,
        help_text=_(
            '{"agents": ["GHL user id", …]} and/or {"match": {"attribute": "area", '
            '"field": "custom:<id>"}} (specialists).'
        ),
    )
    fallback_pool = JSONText(
        shape=dict, required=False, help_text=_("Same shape; served round robin. Empty: none.")
    )

    class Meta:
        model = RoutingRule
        fields = ("location", "name", "position", "enabled", "strategy", "conditions", "pool",
                  "fallback_pool", "pipeline_id", "stage_id")  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["position"].required = self.instance.pk is not None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        location = data.get("location") or (self.instance.location if self.instance.pk else None)
        if location is None or self.errors:
            return data
        try:
            feature_require(location=location, feature="routing")
            rule_validate(
                location=location,
                name=data.get("name", ""),
                pool=data.get("pool"),
                strategy=data.get("strategy", ""),
                conditions=data.get("conditions"),
                fallback_pool=data.get("fallback_pool"),
                pipeline_id=data.get("pipeline_id", ""),
                stage_id=data.get("stage_id", ""),
            )
        except ApplicationError as error:
            raise _refused(error) from error
        return data


class RoutingRuleAdmin(SimulateMixin, AgencyScopedAdmin):
    agency_path = "location__agency"
    form = RoutingRuleForm
    list_display = ["position", "name", "location", "enabled", "strategy", "pool_text",
                    "conditions_text"]  # fmt: skip
    list_display_links = ["name"]
    list_filter = [("location", AgencyRelatedFilter), "enabled", "strategy"]
    list_select_related = ["location"]
    search_fields = ["name"]
    ordering = ["location__name", "position", "id"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["location", "template"] if obj is not None else []

    @admin.display(description=gettext_lazy("Copied from"))
    def template(self, obj: RoutingRule) -> str:
        # Said on the form: an edit here lasts only until the template is applied again.
        if obj.copied_from_id is None:
            return "— (this location's own rule)"
        return f"{obj.copied_from} — applying that routing template again overwrites this rule"

    @admin.display(description=gettext_lazy("Pool"))
    def pool_text(self, obj: RoutingRule) -> str:
        return _pool_text(obj.pool) + (f"; fallback {_pool_text(obj.fallback_pool)}"
                                        if obj.fallback_pool else "")  # fmt: skip

    @admin.display(description=gettext_lazy("Conditions"))
    def conditions_text(self, obj: RoutingRule) -> str:
        return _condition_text(obj.conditions) or "every lead"

    def save_model(self, request: HttpRequest, obj: RoutingRule, form: Any, change: bool) -> None:
        data = form.cleaned_data
        saved = rule_save(
            location=obj.location,
            name=data["name"],
            pool=data["pool"],
            strategy=data["strategy"],
            conditions=data.get("conditions") or {},
            fallback_pool=data.get("fallback_pool") or {},
            enabled=data["enabled"],
            position=data.get("position"),
            rule=obj if change else None,
            acting_user=actor(request),
            pipeline_id=data.get("pipeline_id", ""),
            stage_id=data.get("stage_id", ""),
        )
        obj.pk, obj.position = saved.pk, saved.position

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A location whose plan leaves routing out (or is paused) keeps its rules as they are
        # (the bulk "delete selected" asks this of every rule too, and refuses them all).
        if obj is not None and not location_may(location=obj.location, feature="routing"):
            return False
        return bool(super().has_delete_permission(request, obj))

    def delete_model(self, request: HttpRequest, obj: RoutingRule) -> None:
        rule_delete(rule=obj, acting_user=actor(request))

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for rule in queryset:  # Django asked has_delete_permission of each one first
            rule_delete(rule=rule, acting_user=actor(request))


def _pool_text(pool: dict[str, Any]) -> str:
    parts = [", ".join(pool.get("agents") or [])]
    if match := pool.get("match"):
        parts.append(f"specialists: {match['attribute']} ∋ {match['field']}")
    return " + ".join(p for p in parts if p) or "—"


def _condition_text(node: dict[str, Any]) -> str:
    if not node:
        return ""
    for group, joiner in (("all", " and "), ("any", " or ")):
        if group in node:
            return "(" + joiner.join(_condition_text(child) for child in node[group]) + ")"
    return f"{node['field']} {node['op']} {node['value']}"


class StaffRoutingRuleAdmin(StaffAdminMixin, RoutingRuleAdmin):
    list_filter = ["enabled", "strategy"]


# --- agent profiles ------------------------------------------------------------------------------


class AgentProfileForm(forms.ModelForm[AgentProfile]):
    attributes = JSONText(
        shape=dict, required=False, help_text=_('{"area": ["Dubai Marina", "JLT"], "language": …}')
    )
    hours = JSONText(
        shape=dict,
        required=False,
        help_text=_('{"mon": [["09:00", "17:00"]], …}. Empty: always; a day left out: off.'),
    )

    class Meta:
        model = AgentProfile
        fields = ("location", "ghl_user_id", "active", "weight", "max_per_day", "max_open",
                  "attributes", "hours", "hours_timezone", "out_of_office_from",
                  "out_of_office_until")  # fmt: skip

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        instance = self.instance
        location = data.get("location") or (instance.location if instance.pk else None)
        if location is None or self.errors:
            return data
        values: dict[str, Any] = {key: data.get(key) for key in _PROFILE_VALUES}
        try:
            agent_profile_validate(
                location=location,
                ghl_user_id=data.get("ghl_user_id") or instance.ghl_user_id,
                **values,
            )
        except ApplicationError as error:
            raise _refused(error) from error
        return data


_PROFILE_VALUES = ("weight", "max_per_day", "max_open", "attributes", "hours", "hours_timezone",
                   "out_of_office_from", "out_of_office_until")  # fmt: skip


class AgentProfileAdmin(AgencyScopedAdmin):
    agency_path = "location__agency"
    form = AgentProfileForm
    list_display = ["ghl_user_id", "location", "active", "weight", "max_per_day", "max_open",
                    "out_of_office_until"]  # fmt: skip
    list_filter = [("location", AgencyRelatedFilter), "active"]
    list_select_related = ["location"]
    search_fields = ["ghl_user_id"]
    ordering = ["location__name", "ghl_user_id"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["location", "ghl_user_id"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: AgentProfile, form: Any, change: bool) -> None:
        data = form.cleaned_data
        values: dict[str, Any] = {key: data.get(key) for key in _PROFILE_VALUES}
        saved = agent_profile_save(
            location=obj.location,
            ghl_user_id=obj.ghl_user_id,
            active=data["active"],
            acting_user=actor(request),
            **values,
        )
        obj.pk = saved.pk

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        """A profile a rule still names is shown as protected, and the deletion refused."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        for profile in objs:
            naming = rules_naming_agent(location=profile.location, ghl_user_id=profile.ghl_user_id)
            protected += [f"Routing rule “{r.name}” (its pool names {profile})" for r in naming]
        return deleted, counts, perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: AgentProfile) -> None:
        agent_profile_delete(profile=obj, acting_user=actor(request))

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for profile in queryset:
            agent_profile_delete(profile=profile, acting_user=actor(request))


class StaffAgentProfileAdmin(StaffAdminMixin, AgentProfileAdmin):
    list_filter = ["active"]
