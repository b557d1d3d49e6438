"""Applying a template location's routing rules or report schedule to other locations of the
same agency (the bulk "Apply a routing template" / "Apply a report template").

Routing rules name things that only exist in their own location, so each rule is translated
before it is saved through `rule_save` (same checks and audit as a hand-made rule):

* a pool's (and fallback pool's) explicit agents become the target's *active* agent profiles; a
  pool's `match` is kept and then picks among the target's agents; a target without active agent
  profiles fails (a pool of nobody would leave every lead unroutable);
* `custom:<id>` fields (conditions, pool matches) go through the industry packs: the template's
  id is a pack field there (`PackActivation.fields`), the target's id for the same pack field is
  used; a field that is no pack's, or whose pack is not activated on the target, fails it;
* a pipeline and stage become the target's pipeline and stage of the same names (mirror, case
  ignored); when there is none the rule is copied without an opportunity and the result says so.

Copied rules carry `RoutingRule.copied_from` (the template location). Applying the template again
updates them in place, in order — their round-robin state survives — adds the rules the template
gained and deletes those it lost; the location's own rules (and copies of other templates) are
never touched. Copies sit after the location's other rules, so its own rules are tried first.
Only enabled rules are copied. Any failure raises before the runner's savepoint is released: a
location gets the whole template or nothing.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Max

from integrations.mirror.models import MirrorPipeline
from integrations.packs.catalog import packs
from integrations.packs.models import PackActivation
from integrations.reporting.email import report_schedule_save
from integrations.reporting.models import ReportSchedule
from integrations.routing.conditions import CUSTOM
from integrations.routing.models import AgentProfile, RoutingRule
from integrations.routing.services import rule_delete, rule_save
from saas_platform.kernel.errors import ApplicationError
from tenants.models import Location

from .models import BulkJob, BulkJobItem
from .skipped import Skipped

# What makes a copy equal to its template rule (position aside).
COMPARED = ("name", "conditions", "pool", "strategy", "fallback_pool", "pipeline_id", "stage_id")


def _template(item: BulkJobItem, job: BulkJob) -> Location:
    # Read again for every location: a template deleted mid-job fails the rest, not a crash.
    template: Location | None = (
        Location.objects.for_agency(job.agency)
        .filter(pk=job.params.get("template_location_id"))
        .first()
    )
    if template is None:
        raise ApplicationError("The template location no longer exists.")
    if template.pk == item.location_id:
        raise Skipped("This is the template location.")
    return template


def _pack_fields(location: Location) -> dict[tuple[str, str], str]:
    """{(pack key, pack field key): GHL custom field id} of the location's activated packs."""
    rows = PackActivation.objects.for_location(location).filter(activated_at__isnull=False)
    return {(a.pack_key, key): str(ghl_id) for a in rows for key, ghl_id in a.fields.items()}


def _pipelines(location: Location) -> list[MirrorPipeline]:
    return list(MirrorPipeline.objects.for_location(location).order_by("name", "pk"))


def _norm(name: Any) -> str:
    return str(name or "").strip().casefold()


def _stage_name(pipeline: MirrorPipeline, stage_id: str) -> str:
    return next((str(s.get("name")) for s in pipeline.stages if s.get("id") == stage_id), "")


class _Translator:
    """One template's rules, in the target location's terms."""

    def __init__(self, template: Location, target: Location) -> None:
        self.template, self.target = template, target
        self.agents = sorted(
            AgentProfile.objects.for_location(target)
            .filter(active=True)
            .values_list("ghl_user_id", flat=True)
        )
        self.template_fields = {i: where for where, i in _pack_fields(template).items()}
        self.target_fields = _pack_fields(target)
        self.template_pipelines = {p.ghl_id: p for p in _pipelines(template)}
        self.target_pipelines: dict[str, MirrorPipeline] = {}
        for pipeline in _pipelines(target):  # the first of two same-named pipelines wins
            self.target_pipelines.setdefault(_norm(pipeline.name), pipeline)
        self.notes: list[str] = []

    def field(self, field: str) -> str:
        if not field.startswith(CUSTOM):
            return field  # a contact column: the same everywhere
        custom_id = field[len(CUSTOM) :]
        where = self.template_fields.get(custom_id)
        if where is None:
            raise ApplicationError(
                f"The template's custom field {custom_id!r} is not a field of one of its "
                "activated industry packs, so it has no counterpart here: route on a pack field "
                "in the template."
            )
        if (translated := self.target_fields.get(where)) is None:
            pack_key, key = where
            pack = packs().get(pack_key)
            label = pack.name if pack else pack_key
            raise ApplicationError(
                f"The template routes on the {label} pack's field {key!r} (custom field "
                f"{custom_id!r}), which this location does not have: activate the {label} pack "
                "here, then apply the template again."
            )
        return CUSTOM + translated

    def conditions(self, node: dict[str, Any]) -> dict[str, Any]:
        for group in ("all", "any"):
            if group in node:
                return {group: [self.conditions(child) for child in node[group]]}
        if not node:
            return {}
        return {**node, "field": self.field(node["field"])}

    def pool(self, pool: dict[str, Any]) -> dict[str, Any]:
        if not pool:
            return {}
        translated: dict[str, Any] = {}
        if pool.get("agents"):
            translated["agents"] = list(self.agents)
        if match := pool.get("match"):
            translated["match"] = {**match, "field": self.field(match["field"])}
        return translated

    def stage(self, rule: RoutingRule) -> tuple[str, str]:
        if not rule.pipeline_id:
            return "", ""
        source = self.template_pipelines.get(rule.pipeline_id)
        if source is not None:
            names = (source.name, _stage_name(source, rule.stage_id))
            pipeline = self.target_pipelines.get(_norm(names[0]))
            for stage in pipeline.stages if pipeline else []:
                if _norm(stage.get("name")) == _norm(names[1]) and stage.get("id"):
                    return pipeline.ghl_id, str(stage["id"])  # type: ignore[union-attr]
            what = f"{names[0]!r} with a stage {names[1]!r}"
        else:  # the template's own pipeline is gone from its mirror
            what = "like the template's"
        self.notes.append(f"Rule {rule.name!r} copied without an opportunity: no pipeline {what}.")
        return "", ""

    def rule(self, rule: RoutingRule) -> dict[str, Any]:
        try:
            pipeline_id, stage_id = self.stage(rule)
            return {
                "name": rule.name,
                "conditions": self.conditions(rule.conditions or {}),
                "pool": self.pool(rule.pool),
                "strategy": rule.strategy,
                "fallback_pool": self.pool(rule.fallback_pool or {}),
                "pipeline_id": pipeline_id,
                "stage_id": stage_id,
            }
        except ApplicationError as error:
            raise ApplicationError(f"Rule {rule.name!r}: {error.message}") from error


def apply_routing_template(item: BulkJobItem, job: BulkJob) -> str:
    """Copy the template location's enabled rules, translated, replacing its earlier copies."""
    target = item.location
    template = _template(item, job)
    rules = list(
        RoutingRule.objects.for_location(template).filter(enabled=True).order_by("position", "id")
    )
    mine = RoutingRule.objects.for_location(target)
    copies = list(mine.filter(copied_from=template).order_by("position", "id"))
    if not copies and not rules:
        raise Skipped(f"{template.name} has no enabled rule to copy.")
    translator = _Translator(template, target)
    if rules and not translator.agents:  # (a template emptied only deletes its copies)
        raise ApplicationError(
            "This location has no active agent profiles to route to: add its agents under "
            "Routing → Agent profiles, then apply the template again."
        )
    specs = [translator.rule(rule) for rule in rules]  # every refusal before anything is saved
    last_own = mine.exclude(copied_from=template).aggregate(m=Max("position"))["m"] or 0
    created = updated = 0
    for i, spec in enumerate(specs):
        position = last_own + 1 + i
        copy = copies[i] if i < len(copies) else None
        if (
            copy is not None
            and copy.enabled
            and copy.position == position
            and all(getattr(copy, key) == value for key, value in spec.items())
        ):
            continue
        try:
            rule_save(
                location=target,
                rule=copy,
                position=position,
                enabled=True,
                copied_from=template,
                acting_user=job.created_by,
                **spec,
            )
        except ApplicationError as error:
            raise ApplicationError(f"Rule {spec['name']!r}: {error.message}") from error
        created, updated = created + (copy is None), updated + (copy is not None)
    for stale in copies[len(specs) :]:
        rule_delete(rule=stale, acting_user=job.created_by)
    deleted = max(0, len(copies) - len(specs))
    notes = "".join(f" {note}" for note in translator.notes)
    if not (created or updated or deleted):
        raise Skipped(f"Already has the {len(specs)} rule(s) of {template.name}.{notes}")
    return (
        f"{len(specs)} rule(s) from {template.name}: {created} created, {updated} updated, "
        f"{deleted} removed.{notes}"
    )


def _describe(frequency: str, recipients: str) -> str:
    to = ", ".join(recipients.split()) or "the agency's owners and admins"
    return f"{ReportSchedule.Frequency(frequency).label.lower()}, to {to}"


def apply_report_template(item: BulkJobItem, job: BulkJob) -> str:
    """Give the location the template location's report frequency and recipients."""
    target = item.location
    template = _template(item, job)
    # A location without a schedule row yet gets the default one (weekly, to the agency's admins).
    source = ReportSchedule.objects.for_location(template).first() or ReportSchedule(
        location=template
    )
    schedule = ReportSchedule.objects.for_location(target).first() or ReportSchedule(
        location=target
    )
    changes = {
        key: (getattr(schedule, key), getattr(source, key))
        for key in ("frequency", "recipients")
        if getattr(schedule, key) != getattr(source, key)
    }
    described = _describe(source.frequency, source.recipients)
    if not changes:
        raise Skipped(f"Already sends the same report ({described}).")
    for key, (_, new) in changes.items():
        setattr(schedule, key, new)
    report_schedule_save(schedule=schedule, acting_user=job.created_by, changes=changes)
    return f"Report schedule set from {template.name}: {described}."
