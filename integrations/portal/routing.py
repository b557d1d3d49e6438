"""Routing in the client workspace (admins only): the ordered rules — on/off, up/down, delete
after a confirmation — and the rule editor. Views are thin: `integrations.routing.services`
checks and saves; its refusal is shown next to the field it is about, with what was typed kept.
While the plan leaves routing out (or billing is paused) the rules stay readable and the editor
gives way to a notice; a change posted anyway is refused with the plan's reason."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from integrations.routing.models import RoutingRule
from integrations.routing.ordering import rule_move, rule_set_enabled
from integrations.routing.services import rule_delete, rule_save
from saas_platform.kernel.errors import ApplicationError, NotEntitled
from tenants.entitlements import location_access
from tenants.models import Location
from tenants.portal import location_page
from tenants.request import actor

from .forms import ROWS_ADDED, initial_from_post, place_error, wants_more_rows
from .routing_forms import CONDITION_ROWS_EXTRA, RuleForm, agent_names

SECTION = "routing"
MAX_CONDITION_ROWS = 30
_CONDITION = re.compile(r"^conditions\.(?:all|any)\[(\d+)\]")
_RULE_ERRORS = (
    ("fallback pool", "fallback_agents"),
    ("pool match", "match_field"),
    ("pool", "pool_agents"),
    ("needs a name", "name"),
    ("strategy", "strategy"),
    ("pipeline", "stage"),
)


def _rule(location: Location, rule_id: int) -> RoutingRule:
    rule: RoutingRule | None = RoutingRule.objects.for_location(location).filter(pk=rule_id).first()
    if rule is None:  # another location's rule and a missing one look the same
        raise Http404
    return rule


def _rules_url(location: Location) -> str:
    return reverse("workspace:routing", kwargs={"location_id": location.pk})


def _refused(request: HttpRequest, location: Location, refused: NotEntitled) -> HttpResponse:
    messages.error(request, refused.message)
    return HttpResponseRedirect(_rules_url(location))


@location_page(section=SECTION, access="admin")
def rules(request: HttpRequest, location: Location) -> HttpResponse:
    names = agent_names(location)
    rows = [
        {
            "rule": rule,
            "agents": [names.get(a, a) for a in rule.pool.get("agents") or []],
            "specialists": rule.pool.get("match"),
            "fallback": [names.get(a, a) for a in (rule.fallback_pool or {}).get("agents") or []],
            "conditions": _conditions_text(rule.conditions),
        }
        for rule in RoutingRule.objects.for_location(location).order_by("position", "id")
    ]
    access = location_access(location=location, feature="routing")
    context = {"location": location, "rows": rows, "access": access}
    return render(request, "portal/routing/rules.html", context)


def _conditions_text(node: dict[str, Any]) -> str:
    if not node:
        return _("Every lead")
    for group, joiner in (("all", " and "), ("any", " or ")):
        if group in node:
            return joiner.join(_conditions_text(child) for child in node[group])
    value = node["value"]
    shown = ", ".join(map(str, value)) if isinstance(value, list) else value
    return f"{node['field']} {node['op']} {shown}"


@location_page(section=SECTION, access="admin")
def rule_edit(request: HttpRequest, location: Location, rule_id: int | None = None) -> HttpResponse:
    rule = _rule(location, rule_id) if rule_id is not None else None
    access = location_access(location=location, feature="routing")
    if not access.allowed:
        locked: dict[str, Any] = {"location": location, "rule": rule, "access": access}
        status = 403 if request.method == "POST" else 200
        return render(request, "portal/routing/rule_locked.html", locked, status=status)
    initial, rows = RuleForm.initial_for(rule) if rule else ({}, 1 + CONDITION_ROWS_EXTRA)
    # Nested condition groups (set up by the agency) have no rows here: they are kept as saved.
    nested = rule is not None and not RuleForm.is_flat(rule.conditions)
    if nested:
        rows = 0
    if request.method == "POST":
        # Keep every row that was sent (a refused form comes back with what was typed).
        sent = request.POST.get("rows", "")
        if sent.isdigit() and not nested:
            rows = min(max(rows, int(sent)), MAX_CONDITION_ROWS)
        if wants_more_rows(request.POST) and not nested:
            rows = min(rows + ROWS_ADDED, MAX_CONDITION_ROWS)
            typed = initial_from_post(request.POST, lists=("pool_agents", "fallback_agents"))
            form = RuleForm(initial=typed, location=location, rows=rows)
            context = {"location": location, "form": form, "rule": rule, "rows": rows}
            return render(request, "portal/routing/rule_form.html", context)
        form = RuleForm(request.POST, location=location, rows=rows)
        if nested and rule is not None:
            form.kept_conditions = rule.conditions
        if form.is_valid() and _save_rule(request, form, location, rule):
            messages.success(
                request, _("Rule “%(value)s” saved.") % {"value": form.cleaned_data["name"].strip()}
            )
            return HttpResponseRedirect(_rules_url(location))
    else:
        form = RuleForm(initial=initial, location=location, rows=rows)
    context = {
        "location": location,
        "form": form,
        "rule": rule,
        "rows": rows,
        "nested": _conditions_text(rule.conditions) if nested and rule else "",
    }
    return render(request, "portal/routing/rule_form.html", context)


def _save_rule(
    request: HttpRequest, form: RuleForm, location: Location, rule: RoutingRule | None
) -> bool:
    data = form.cleaned_data
    pipeline_id, stage_id = form.stage_ids()
    values: dict[str, Any] = {
        "name": data["name"],
        "pool": form.pool("pool"),
        "strategy": data["strategy"],
        "conditions": form.conditions(),
        "fallback_pool": form.pool("fallback") if data.get("fallback_agents") else {},
        "pipeline_id": pipeline_id,
        "stage_id": stage_id,
    }
    try:
        rule_save(
            location=location,
            enabled=data["enabled"],
            rule=rule,
            acting_user=actor(request),
            **values,
        )
    except ApplicationError as error:
        found = _CONDITION.match(error.message)
        if found:
            index = form.condition_index(int(found.group(1)))
            form.add_error(f"c{index}_value", error.message.split(": ", 1)[-1])
        else:
            place_error(form, error.message, _RULE_ERRORS)
        return False
    return True


@require_POST
@location_page(section=SECTION, access="admin")
def rule_toggle(request: HttpRequest, location: Location, rule_id: int) -> HttpResponse:
    rule = _rule(location, rule_id)
    try:
        rule_set_enabled(rule=rule, enabled=not rule.enabled, acting_user=actor(request))
    except NotEntitled as refused:
        return _refused(request, location, refused)
    state = "enabled" if rule.enabled else "disabled"
    messages.success(request, _("Rule “%(name)s” %(state)s.") % {"name": rule.name, "state": state})
    return HttpResponseRedirect(_rules_url(location))


@require_POST
@location_page(section=SECTION, access="admin")
def rule_reorder(request: HttpRequest, location: Location, rule_id: int) -> HttpResponse:
    rule = _rule(location, rule_id)
    direction = request.POST.get("direction")
    if direction not in ("up", "down"):
        return HttpResponse(_("Move a rule up or down."), status=400)
    try:
        rule_move(rule=rule, direction=direction, acting_user=actor(request))  # type: ignore[arg-type]
    except NotEntitled as refused:
        return _refused(request, location, refused)
    return HttpResponseRedirect(_rules_url(location))


@location_page(section=SECTION, access="admin")
def rule_remove(request: HttpRequest, location: Location, rule_id: int) -> HttpResponse:
    """GET asks for confirmation; POST deletes."""
    rule = _rule(location, rule_id)
    if request.method == "POST":
        try:
            rule_delete(rule=rule, acting_user=actor(request))
        except NotEntitled as refused:
            return _refused(request, location, refused)
        messages.success(request, _("Rule “%(name)s” deleted.") % {"name": rule.name})
        return HttpResponseRedirect(_rules_url(location))
    return render(request, "portal/routing/rule_delete.html", {"location": location, "rule": rule})
