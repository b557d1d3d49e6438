"""Saving agent profiles and routing rules. Everything a rule or profile could get wrong is
refused here with a message for the person editing it, so routing itself never fails on bad
configuration."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max

from integrations.bulk.csv_io import custom_field_ids
from integrations.mirror.models import MirrorPipeline, MirrorUser
from integrations.packs.selectors import pack_custom_field_ids
from saas_platform.kernel.errors import ApplicationError
from tenants.entitlements import feature_require
from tenants.models import Location, User
from tenants.services import audit_record

from . import conditions as condition_tree
from .availability import validate_hours, validate_timezone
from .models import AgentProfile, RoutingRule, RoutingRuleState, Strategy


def agent_profile_validate(
    *,
    location: Location,
    ghl_user_id: str,
    weight: Any,
    max_per_day: Any,
    max_open: Any,
    attributes: Any,
    hours: Any,
    hours_timezone: str,
    out_of_office_from: datetime | None,
    out_of_office_until: datetime | None,
) -> None:
    """Everything `agent_profile_save` checks, without saving (the admin form's messages)."""
    if not MirrorUser.objects.for_location(location).filter(ghl_id=ghl_user_id).exists():
        raise ApplicationError(f"Unknown agent {ghl_user_id!r}: not a GHL user of this location.")
    if not isinstance(weight, int) or weight < 1:
        raise ApplicationError("Weight must be a whole number of at least 1.")
    for label, cap in (("Leads per day", max_per_day), ("Open leads", max_open)):
        if cap is not None and (not isinstance(cap, int) or cap < 0):
            raise ApplicationError(f"{label} cap must be a whole number (or empty for none).")
    if not isinstance(attributes, dict) or not all(
        isinstance(k, str) and k and isinstance(v, list) and all(isinstance(x, str) for x in v)
        for k, v in attributes.items()
    ):
        raise ApplicationError('Attributes must look like {"area": ["Dubai Marina", "JLT"]}.')
    validate_hours(hours or {})
    validate_timezone(hours_timezone)
    if out_of_office_from and out_of_office_until and out_of_office_until <= out_of_office_from:
        raise ApplicationError("Out of office must end after it starts.")


def agent_profile_save(
    *,
    location: Location,
    ghl_user_id: str,
    active: bool = True,
    weight: int = 1,
    max_per_day: int | None = None,
    max_open: int | None = None,
    attributes: dict[str, list[str]] | None = None,
    hours: dict[str, list[list[str]]] | None = None,
    hours_timezone: str = "",
    out_of_office_from: datetime | None = None,
    out_of_office_until: datetime | None = None,
    acting_user: User | None = None,
) -> AgentProfile:
    """Create or update the routing profile of one GHL user of the location."""
    agent_profile_validate(
        location=location,
        ghl_user_id=ghl_user_id,
        weight=weight,
        max_per_day=max_per_day,
        max_open=max_open,
        attributes=attributes or {},
        hours=hours or {},
        hours_timezone=hours_timezone,
        out_of_office_from=out_of_office_from,
        out_of_office_until=out_of_office_until,
    )
    attributes = attributes or {}
    values = {
        "active": active,
        "weight": weight,
        "max_per_day": max_per_day,
        "max_open": max_open,
        "attributes": attributes,
        "hours": hours or {},
        "hours_timezone": hours_timezone,
        "out_of_office_from": out_of_office_from,
        "out_of_office_until": out_of_office_until,
    }
    with transaction.atomic():
        profile: AgentProfile
        profile, created = AgentProfile.objects.for_location(location).update_or_create(
            location=location, ghl_user_id=ghl_user_id, defaults=values
        )
        audit_record(
            action="routing_agent.created" if created else "routing_agent.updated",
            target=profile,
            acting_user=acting_user,
            agency=location.agency,
            location=location,
        )
    return profile


def _validate_pool(location: Location, pool: Any, label: str, custom: list[str] | None) -> None:
    if not isinstance(pool, dict) or set(pool) - {"agents", "match"}:
        raise ApplicationError(f'{label}: expected {{"agents": [...], "match": {{...}}}}.')
    agents, match = pool.get("agents") or [], pool.get("match")
    if not isinstance(agents, list) or not all(isinstance(a, str) for a in agents):
        raise ApplicationError(f"{label}: agents must be a list of GHL user ids.")
    known = set(AgentProfile.objects.for_location(location).values_list("ghl_user_id", flat=True))
    if unknown := sorted(set(agents) - known):
        raise ApplicationError(f"{label}: unknown agent(s) {', '.join(unknown)}.")
    if match is not None:
        if not isinstance(match, dict) or set(match) != {"attribute", "field"}:
            raise ApplicationError(f'{label}: match needs {{"attribute": …, "field": …}}.')
        if not isinstance(match["attribute"], str) or not match["attribute"]:
            raise ApplicationError(f"{label}: match needs an agent attribute name.")
        condition_tree.validate_field(match["field"], custom_ids=custom, where=f"{label} match")
    if not agents and not (match and known):
        raise ApplicationError(f"{label} is empty: list agents, or match on an attribute.")


def rule_validate(
    *,
    location: Location,
    name: str,
    pool: Any,
    strategy: str,
    conditions: Any = None,
    fallback_pool: Any = None,
    pipeline_id: str = "",
    stage_id: str = "",
) -> None:
    """Everything `rule_save` checks, without saving (the simulator's candidate rules)."""
    if not (name or "").strip():
        raise ApplicationError("A rule needs a name.")
    if strategy not in Strategy.values:
        raise ApplicationError(
            f"Unknown strategy {strategy!r} (use one of {', '.join(Strategy.values)})."
        )
    # Custom fields are known from the mirrored contacts' values and from the location's packs
    # (a field a pack just created has no values yet); a location with no mirrored values yet is
    # checked for the shape of the name only.
    mirrored = custom_field_ids(location=location)
    custom = [*mirrored, *pack_custom_field_ids(location=location)] if mirrored else None
    condition_tree.validate(conditions or {}, custom_ids=custom)
    _validate_pool(location, pool, "Pool", custom)
    if fallback_pool:
        _validate_pool(location, fallback_pool, "Fallback pool", custom)
    _validate_stage(location, pipeline_id, stage_id)


def rule_save(
    *,
    location: Location,
    name: str,
    pool: dict[str, Any],
    strategy: str = Strategy.ROUND_ROBIN,
    conditions: dict[str, Any] | None = None,
    fallback_pool: dict[str, Any] | None = None,
    enabled: bool = True,
    position: int | None = None,
    rule: RoutingRule | None = None,
    acting_user: User | None = None,
    pipeline_id: str = "",
    stage_id: str = "",
    copied_from: Location | None = None,
) -> RoutingRule:
    """Create a rule (at the end unless `position` is given) or update `rule`. `copied_from`:
    the template location of a rule the bulk "Apply a routing template" copies (an edit without
    it keeps the mark)."""
    feature_require(location=location, feature="routing")
    name = (name or "").strip()
    rule_validate(
        location=location,
        name=name,
        pool=pool,
        strategy=strategy,
        conditions=conditions,
        fallback_pool=fallback_pool,
        pipeline_id=pipeline_id,
        stage_id=stage_id,
    )
    with transaction.atomic():
        if rule is None:
            if position is None:
                last = RoutingRule.objects.for_location(location).aggregate(m=Max("position"))
                position = (last["m"] or 0) + 1
            rule = RoutingRule(location=location)
        elif rule.location_id != location.pk:
            raise ApplicationError("This rule belongs to another location.")
        old = {"conditions": rule.conditions, "pool": rule.pool, "strategy": rule.strategy}
        rule.name, rule.strategy, rule.enabled = name, strategy, enabled
        rule.conditions, rule.pool = conditions or {}, pool
        rule.fallback_pool = fallback_pool or {}
        rule.pipeline_id, rule.stage_id = pipeline_id, stage_id
        if position is not None:
            rule.position = position
        if copied_from is not None:
            rule.copied_from = copied_from
        created = rule.pk is None
        rule.save()
        RoutingRuleState.objects.for_location(location).get_or_create(location=location, rule=rule)
        audit_record(
            action="routing_rule.created" if created else "routing_rule.updated",
            target=rule,
            acting_user=acting_user,
            agency=location.agency,
            location=location,
            changes={key: (value, getattr(rule, key)) for key, value in old.items()},
        )
    return rule


def _validate_stage(location: Location, pipeline_id: str, stage_id: str) -> None:
    """A rule opening opportunities names a pipeline of the location and one of its stages."""
    if not pipeline_id and not stage_id:
        return
    if not (pipeline_id and stage_id):
        raise ApplicationError("Name both the pipeline and the stage, or neither.")
    pipeline = MirrorPipeline.objects.for_location(location).filter(ghl_id=pipeline_id).first()
    if pipeline is None:
        raise ApplicationError(f"The location has no pipeline {pipeline_id!r}.")
    if not any(stage.get("id") == stage_id for stage in pipeline.stages):
        raise ApplicationError(f"The pipeline {pipeline.name!r} has no stage {stage_id!r}.")


def rules_naming_agent(*, location: Location, ghl_user_id: str) -> list[RoutingRule]:
    """The rules whose pool or fallback pool lists the agent by id."""
    return [
        rule
        for rule in RoutingRule.objects.for_location(location)
        if ghl_user_id in (rule.pool.get("agents") or [])
        or ghl_user_id in ((rule.fallback_pool or {}).get("agents") or [])
    ]


def rule_delete(*, rule: RoutingRule, acting_user: User | None = None) -> None:
    """Delete a rule; its past decisions keep the rule's name."""
    location = rule.location
    feature_require(location=location, feature="routing")
    with transaction.atomic():
        audit_record(
            action="routing_rule.deleted",
            target=rule,
            acting_user=acting_user,
            agency=location.agency,
            location=location,
        )
        rule.delete()


def agent_profile_delete(*, profile: AgentProfile, acting_user: User | None = None) -> None:
    """Delete an agent's profile — refused while a rule names the agent, since that rule would
    then send leads to nobody (deactivate the profile to pause the agent instead)."""
    location = profile.location
    if naming := rules_naming_agent(location=location, ghl_user_id=profile.ghl_user_id):
        names = ", ".join(repr(rule.name) for rule in naming)
        raise ApplicationError(
            f"{profile.ghl_user_id} is in the pool of {names}: remove the agent from those rules "
            "first, or deactivate the profile instead."
        )
    with transaction.atomic():
        audit_record(
            action="routing_agent.deleted",
            target=profile,
            acting_user=acting_user,
            agency=location.agency,
            location=location,
        )
        profile.delete()
