"""The portal's routing forms: a rule (conditions as rows, pools as agent check boxes) and an
agent profile (caps, hours per weekday, out of office). They only turn what was typed into the
shapes `integrations.routing.services` saves; every rule is checked there."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from integrations.bulk.csv_io import custom_field_ids
from integrations.mirror.models import MirrorPipeline, MirrorUser
from integrations.routing import conditions as condition_tree
from integrations.routing.availability import DAYS
from integrations.routing.models import AgentProfile, RoutingRule, Strategy
from tenants.models import Location

CONDITION_ROWS_EXTRA = 2
OPERATORS = [
    ("equals", "is"),
    ("in", "is one of (comma separated)"),
    ("contains", "contains"),
    ("between", "is between (low, high)"),
    ("gte", "is at least"),
    ("lte", "is at most"),
    ("postal_in", "postal code starts with one of (comma separated)"),
]
DAY_LABELS = dict(
    zip(
        DAYS,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
)


def _split(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,\n]", text) if part.strip()]


def agent_names(location: Location) -> dict[str, str]:
    """GHL user id → the person's name (or e-mail) from the mirror."""
    names = {}
    for user in MirrorUser.objects.for_location(location).order_by("first_name", "last_name"):
        full = " ".join(p for p in (user.first_name, user.last_name) if p).strip()
        names[user.ghl_id] = full or user.email or user.ghl_id
    return names


def field_choices(location: Location) -> list[tuple[str, str]]:
    standard = [
        (name, name.replace("_", " ").capitalize())
        for name in sorted(condition_tree.CONTACT_FIELDS)
    ]
    custom = [
        (f"{condition_tree.CUSTOM}{key}", _("Custom field %(key)s") % {"key": key})
        for key in custom_field_ids(location=location)
    ]
    return [("", "—"), *standard, *custom]


def stage_choices(location: Location) -> list[tuple[str, StrOrPromise]]:
    choices: list[tuple[str, StrOrPromise]] = [("", _("No opportunity"))]
    for pipeline in MirrorPipeline.objects.for_location(location).order_by("name"):
        for stage in pipeline.stages:
            label = f"{pipeline.name} → {stage.get('name') or stage.get('id')}"
            choices.append((f"{pipeline.ghl_id}|{stage.get('id')}", label))
    return choices


class RuleForm(forms.Form):
    name = forms.CharField(max_length=120)
    enabled = forms.BooleanField(required=False, initial=True, label=_("Enabled"))
    join = forms.ChoiceField(
        label=_("A lead matches when"),
        choices=[("all", "all conditions hold"), ("any", "any condition holds")],
        initial="all",
        required=False,
    )
    strategy = forms.ChoiceField(
        choices=Strategy.choices,
        initial=Strategy.ROUND_ROBIN,
        help_text=_("Weighted uses each agent's weight; caps and hours are set per agent."),
    )
    pool_agents = forms.MultipleChoiceField(
        label=_("Agents"), required=False, widget=forms.CheckboxSelectMultiple
    )
    match_attribute = forms.CharField(
        label=_("Specialists: agent attribute"),
        required=False,
        max_length=60,
        help_text=_('Optional, e.g. "area": agents whose area list holds the lead\'s value.'),
    )
    match_field = forms.ChoiceField(label=_("…matched against the lead's field"), required=False)
    fallback_agents = forms.MultipleChoiceField(
        label=_("Fallback agents"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Served round robin when nobody in the pool can take the lead."),
    )
    stage = forms.ChoiceField(label=_("Open an opportunity in"), required=False)

    def __init__(self, *args: Any, location: Location, rows: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.location = location
        names = agent_names(location)
        profiles = AgentProfile.objects.for_location(location).order_by("ghl_user_id")
        agents = [(p.ghl_user_id, names.get(p.ghl_user_id, p.ghl_user_id)) for p in profiles]
        self.fields["pool_agents"].choices = agents  # type: ignore[attr-defined]
        self.fields["fallback_agents"].choices = agents  # type: ignore[attr-defined]
        fields = field_choices(location)
        self.fields["match_field"].choices = fields  # type: ignore[attr-defined]
        self.fields["stage"].choices = stage_choices(location)  # type: ignore[attr-defined]
        self.rows = rows
        for i in range(rows):
            self.fields[f"c{i}_field"] = forms.ChoiceField(
                label=_("Condition %(value)s: field") % {"value": i + 1},
                choices=fields,
                required=False,
            )
            self.fields[f"c{i}_op"] = forms.ChoiceField(
                label=_("Condition %(value)s: operator") % {"value": i + 1},
                choices=OPERATORS,
                required=False,
            )
            self.fields[f"c{i}_value"] = forms.CharField(
                label=_("Condition %(value)s: value") % {"value": i + 1},
                required=False,
                max_length=2000,
            )

    def condition_rows(self) -> list[tuple[Any, Any, Any]]:
        return [
            (self[f"c{i}_field"], self[f"c{i}_op"], self[f"c{i}_value"]) for i in range(self.rows)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for i in range(self.rows):
            if data.get(f"c{i}_field") and not (data.get(f"c{i}_value") or "").strip():
                self.add_error(f"c{i}_value", _("Enter the value to compare with."))
        return data

    # --- to and from the stored shapes --------------------------------------------------------

    kept_conditions: dict[str, Any] | None = None

    @staticmethod
    def is_flat(node: dict[str, Any]) -> bool:
        """One group of plain conditions (or none, or one): what the rows can show."""
        if not node or "field" in node:
            return True
        children = node.get("all", node.get("any", []))
        return len(node) == 1 and all("field" in child for child in children)

    def conditions(self) -> dict[str, Any]:
        if self.kept_conditions is not None:
            return self.kept_conditions
        leaves: list[dict[str, Any]] = []
        for i in range(self.rows):
            field = self.cleaned_data.get(f"c{i}_field")
            if not field:
                continue
            op = self.cleaned_data.get(f"c{i}_op") or "equals"
            text = (self.cleaned_data.get(f"c{i}_value") or "").strip()
            value: Any = _split(text) if op in ("in", "postal_in", "between") else text
            leaves.append({"field": field, "op": op, "value": value})
        return {self.cleaned_data.get("join") or "all": leaves} if leaves else {}

    def condition_index(self, position: int) -> int:
        """The form row of the `position`-th filled condition (for a refusal's message)."""
        filled = [i for i in range(self.rows) if self.cleaned_data.get(f"c{i}_field")]
        return filled[position] if position < len(filled) else 0

    def pool(self, prefix: str) -> dict[str, Any]:
        pool: dict[str, Any] = {"agents": list(self.cleaned_data.get(f"{prefix}_agents") or [])}
        attribute = (self.cleaned_data.get("match_attribute") or "").strip()
        if prefix == "pool" and (attribute or self.cleaned_data.get("match_field")):
            pool["match"] = {"attribute": attribute, "field": self.cleaned_data.get("match_field")}
        return pool

    def stage_ids(self) -> tuple[str, str]:
        pipeline, _, stage = (self.cleaned_data.get("stage") or "").partition("|")
        return pipeline, stage

    @staticmethod
    def initial_for(rule: RoutingRule) -> tuple[dict[str, Any], int]:
        """The form's initial values for a saved rule, and how many condition rows it needs."""
        node = rule.conditions or {}
        join = "any" if "any" in node else "all"
        leaves = node.get(join, [node] if "field" in node else [])
        initial: dict[str, Any] = {
            "name": rule.name,
            "enabled": rule.enabled,
            "join": join,
            "strategy": rule.strategy,
            "pool_agents": rule.pool.get("agents") or [],
            "fallback_agents": (rule.fallback_pool or {}).get("agents") or [],
            "stage": f"{rule.pipeline_id}|{rule.stage_id}" if rule.pipeline_id else "",
        }
        if match := rule.pool.get("match"):
            initial["match_attribute"], initial["match_field"] = match["attribute"], match["field"]
        for i, leaf in enumerate(leaves):
            value = leaf.get("value")
            initial[f"c{i}_field"], initial[f"c{i}_op"] = leaf.get("field"), leaf.get("op")
            initial[f"c{i}_value"] = (
                ", ".join(map(str, value)) if isinstance(value, list) else value
            )
        return initial, len(leaves) + CONDITION_ROWS_EXTRA


# --- agent profiles ------------------------------------------------------------------------------


class AgentProfileForm(forms.Form):
    agent = forms.ChoiceField(label=_("Agent"))
    active = forms.BooleanField(required=False, initial=True, label=_("Taking leads"))
    weight = forms.IntegerField(min_value=1, initial=1, help_text=_("Used by weighted rules."))
    max_per_day = forms.IntegerField(
        label=_("Leads per day cap"), min_value=0, required=False, help_text=_("Empty: no cap.")
    )
    max_open = forms.IntegerField(
        label=_("Open leads cap"), min_value=0, required=False, help_text=_("Empty: no cap.")
    )
    attributes = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_('One per line, e.g. "area: Dubai Marina, JLT" (for specialist rules).'),
    )
    hours_timezone = forms.CharField(
        label=_("Time zone of the hours"),
        required=False,
        help_text=_("Empty: the business's time zone (e.g. Asia/Dubai)."),
    )
    out_of_office_from = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    out_of_office_until = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args: Any, location: Location, editing: str | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = agent_names(location)
        if editing:
            choices = [(editing, names.get(editing, editing))]
        else:
            taken = set(
                AgentProfile.objects.for_location(location).values_list("ghl_user_id", flat=True)
            )
            choices = [(gid, name) for gid, name in names.items() if gid not in taken]
        self.fields["agent"].choices = choices  # type: ignore[attr-defined]
        for day in DAYS:
            self.fields[f"hours_{day}"] = forms.CharField(
                label=DAY_LABELS[day],
                required=False,
                max_length=200,
                help_text=_("e.g. 09:00-13:00, 14:00-18:00; empty: off that day."),
            )

    def hour_fields(self) -> list[Any]:
        return [self[f"hours_{day}"] for day in DAYS]

    def clean_attributes(self) -> dict[str, list[str]]:
        attributes: dict[str, list[str]] = {}
        for number, line in enumerate(self.cleaned_data["attributes"].splitlines(), start=1):
            if not line.strip():
                continue
            name, colon, values = line.partition(":")
            if not colon or not name.strip() or not _split(values):
                raise forms.ValidationError(
                    _('Line %(number)s: write "name: value, value".') % {"number": number}
                )
            attributes[name.strip()] = _split(values)
        return attributes

    def hours(self) -> dict[str, list[list[str]]]:
        """Empty on every day: always available; else the days filled in."""
        hours: dict[str, list[list[str]]] = {}
        for day in DAYS:
            text = self.cleaned_data.get(f"hours_{day}") or ""
            ranges = [part.split("-", 1) for part in _split(text)]
            if ranges:
                hours[day] = [[r[0].strip(), r[1].strip() if len(r) > 1 else ""] for r in ranges]
        return hours

    @staticmethod
    def initial_for(profile: AgentProfile) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "agent": profile.ghl_user_id,
            "active": profile.active,
            "weight": profile.weight,
            "max_per_day": profile.max_per_day,
            "max_open": profile.max_open,
            "attributes": "\n".join(f"{k}: {', '.join(v)}" for k, v in profile.attributes.items()),
            "hours_timezone": profile.hours_timezone,
            "out_of_office_from": profile.out_of_office_from,
            "out_of_office_until": profile.out_of_office_until,
        }
        for day, ranges in (profile.hours or {}).items():
            initial[f"hours_{day}"] = ", ".join(f"{start}-{end}" for start, end in ranges)
        return initial
