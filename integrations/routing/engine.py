"""`route_lead`: one lead → one stored, explainable `RoutingDecision`.

Concurrency: each decision is one transaction that first locks the matched rule's state row
(round-robin pointer, weighted state) and then the profile rows of every agent the rule can
reach, in id order (so two rules sharing agents cannot deadlock). Caps are read after those
locks, so leads arriving together are serialised exactly where they compete and an agent is
never pushed past a cap; leads for unrelated rules and agents still run in parallel.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from integrations.mirror.models import MirrorContact
from saas_platform.kernel.errors import NotFound
from tenants.models import Location

from . import conditions, loads, strategies
from .availability import local_now, unavailable_reason
from .models import AgentProfile, RoutingDecision, RoutingRule, RoutingRuleState, Strategy

log = structlog.get_logger(__name__)
Status = RoutingDecision.Status


@dataclass
class _Pick:
    candidates: list[dict[str, Any]] = field(default_factory=list)
    eligible: list[AgentProfile] = field(default_factory=list)


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


def current_decision(*, location: Location, contact_ghl_id: str) -> RoutingDecision | None:
    return (
        RoutingDecision.objects.for_location(location)
        .filter(contact_ghl_id=contact_ghl_id, is_current=True)
        .first()
    )


def route_lead(
    *,
    location: Location,
    contact_ghl_id: str,
    now: datetime | None = None,
    reroute: bool = False,
) -> RoutingDecision:
    """Route a mirrored contact. Idempotent: the contact's current decision is returned as it
    is unless `reroute` asks for a new one (the old one is kept as history)."""
    start = time.perf_counter()
    now = now or timezone.now()
    existing = current_decision(location=location, contact_ghl_id=contact_ghl_id)
    if existing and not reroute:
        return existing
    contact = MirrorContact.objects.for_location(location).filter(ghl_id=contact_ghl_id).first()
    if contact is None:
        raise NotFound(f"Contact {contact_ghl_id} is not in the mirror of this location.")
    rules = (
        RoutingRule.objects.for_location(location).filter(enabled=True).order_by("position", "id")
    )
    rule = next((r for r in rules if conditions.matches(r.conditions, contact)), None)
    match_ms = _ms(start)
    try:
        with transaction.atomic():
            if reroute:
                RoutingDecision.objects.for_location(location).filter(
                    contact_ghl_id=contact_ghl_id, is_current=True
                ).update(is_current=False)
            decision = _decide(location, contact, rule, now)
            decision.timings = {"match_ms": match_ms, "total_ms": _ms(start)}
            decision.save()
    except IntegrityError:
        # The same contact routed at the same moment elsewhere: that decision stands.
        found = current_decision(location=location, contact_ghl_id=contact_ghl_id)
        if found is None:
            raise
        return found
    log.info(
        "routing.decided",
        location_id=location.pk,
        contact=contact_ghl_id,
        status=decision.status,
        agent=decision.agent_ghl_id,
        rule=decision.rule_name,
    )
    return decision


def _decide(
    location: Location, contact: MirrorContact, rule: RoutingRule | None, now: datetime
) -> RoutingDecision:
    decision = RoutingDecision(
        location=location, contact_ghl_id=contact.ghl_id, created_at=now, is_current=True
    )
    if rule is None:
        decision.status, decision.summary = Status.UNROUTABLE, "No enabled rule matched the lead."
        return decision
    decision.rule, decision.rule_name, decision.strategy = rule, rule.name, rule.strategy
    states = RoutingRuleState.objects.for_location(location).select_for_update()
    state = states.filter(rule=rule).first()
    if state is None:  # rules saved through `rule_save` always have one
        RoutingRuleState.objects.for_location(location).get_or_create(location=location, rule=rule)
        state = states.get(rule=rule)
    profiles = _lock_profiles(location, [rule.pool, rule.fallback_pool])
    today = local_now(now, location.timezone).date()
    need_load = rule.strategy == Strategy.LEAST_LOADED or any(p.max_open for p in profiles)
    ids = [p.ghl_user_id for p in profiles]
    capped = any(p.max_per_day is not None for p in profiles)
    per_day = loads.day_counts(location=location, agents=ids, day=today) if capped else {}
    open_now = loads.open_loads(location=location, agents=ids) if need_load else {}

    main = _evaluate(rule.pool, "main", profiles, contact, now, location, per_day, open_now)
    chosen = _choose(rule, state, main, contact, open_now, location) if main.eligible else None
    candidates, status = main.candidates, Status.ASSIGNED
    if chosen is None and rule.fallback_pool:
        fallback = _evaluate(
            rule.fallback_pool, "fallback", profiles, contact, now, location, per_day, open_now
        )
        candidates += fallback.candidates
        if fallback.eligible:
            ids = [p.ghl_user_id for p in fallback.eligible]
            chosen = strategies.round_robin(ids, state.fallback_last_agent)
            state.fallback_last_agent, status = chosen, Status.FALLBACK
    decision.candidates = candidates
    if chosen is None:
        decision.status = Status.UNROUTABLE
        decision.summary = f"Rule {rule.name!r} matched but no agent was eligible."
        return decision
    state.save(update_fields=["last_agent", "fallback_last_agent", "current_weights"])
    loads.day_count_bump(location=location, agent=chosen, day=today)
    decision.status, decision.agent_ghl_id = status, chosen
    for entry in candidates:
        entry["chosen"] = entry["agent"] == chosen and entry["eligible"]
    via = "fallback pool" if status == Status.FALLBACK else rule.strategy.replace("_", " ")
    decision.summary = f"Rule {rule.name!r} → {chosen} ({via})."
    return decision


def _pool_ids(pool: dict[str, Any]) -> list[str] | None:
    """The listed agents, or None for "every agent of the location" (an attribute-only pool)."""
    return list(pool["agents"]) if pool.get("agents") else None


def _lock_profiles(location: Location, pools: list[dict[str, Any]]) -> list[AgentProfile]:
    query = AgentProfile.objects.for_location(location)
    listed = [_pool_ids(pool) for pool in pools if pool]
    if all(ids is not None for ids in listed):
        query = query.filter(ghl_user_id__in={i for ids in listed for i in ids or []})
    return list(query.select_for_update().order_by("ghl_user_id"))


def _evaluate(
    pool: dict[str, Any],
    lane: str,
    profiles: list[AgentProfile],
    contact: MirrorContact,
    now: datetime,
    location: Location,
    per_day: dict[str, int],
    open_now: dict[str, int],
) -> _Pick:
    by_id = {p.ghl_user_id: p for p in profiles}
    ids = _pool_ids(pool)
    members = sorted(by_id) if ids is None else sorted(set(ids))
    wanted = _wanted(pool, contact)
    pick = _Pick()
    for agent_id in members:
        profile = by_id.get(agent_id)
        reason, detail = _skip(profile, wanted, pool, now, location, per_day, open_now)
        pick.candidates.append(
            {"agent": agent_id, "pool": lane, "eligible": reason is None, "reason": reason or ""}
            | ({"detail": detail} if detail else {})
        )
        if reason is None and profile is not None:
            pick.eligible.append(profile)
    return pick


def _wanted(pool: dict[str, Any], contact: MirrorContact) -> set[str] | None:
    match = pool.get("match")
    if not match:
        return None
    value = conditions.field_value(contact, match["field"])
    values = value if isinstance(value, list) else [value]
    return {str(v).strip().casefold() for v in values if v not in (None, "")}


def _skip(
    profile: AgentProfile | None,
    wanted: set[str] | None,
    pool: dict[str, Any],
    now: datetime,
    location: Location,
    per_day: dict[str, int],
    open_now: dict[str, int],
) -> tuple[str | None, str]:
    if profile is None:
        return "no_profile", "listed in the pool but has no agent profile"
    if wanted is not None:
        attribute = pool["match"]["attribute"]
        offered = {str(v).strip().casefold() for v in profile.attributes.get(attribute, [])}
        if not offered & wanted:
            return "not_specialist", f"{attribute} {sorted(offered)} ∌ {sorted(wanted)}"
    reason = unavailable_reason(profile, now, location.timezone)
    if reason:
        return reason, ""
    taken = per_day.get(profile.ghl_user_id, 0)
    if profile.max_per_day is not None and taken >= profile.max_per_day:
        return "daily_cap", f"{taken}/{profile.max_per_day} today"
    held = open_now.get(profile.ghl_user_id, 0)
    if profile.max_open is not None and held >= profile.max_open:
        return "open_cap", f"{held}/{profile.max_open} open"
    return None, ""


def _choose(
    rule: RoutingRule,
    state: RoutingRuleState,
    pick: _Pick,
    contact: MirrorContact,
    open_now: dict[str, int],
    location: Location,
) -> str:
    ids = [p.ghl_user_id for p in pick.eligible]
    if rule.strategy == Strategy.WEIGHTED:
        weights = {p.ghl_user_id: p.weight for p in pick.eligible}
        chosen, state.current_weights = strategies.smooth_weighted(weights, state.current_weights)
        return chosen
    if rule.strategy == Strategy.LEAST_LOADED:
        chosen = strategies.least_loaded({i: open_now.get(i, 0) for i in ids}, state.last_agent)
    elif (
        rule.strategy == Strategy.STICKY and (previous := _previous_agent(contact, location)) in ids
    ):
        return previous  # the pointer is left alone: the turn was not used
    else:
        chosen = strategies.round_robin(ids, state.last_agent)
    state.last_agent = chosen
    return chosen


def _previous_agent(contact: MirrorContact, location: Location) -> str:
    """The agent last given this contact, or another mirrored contact with its e-mail or phone
    (a returning lead GHL did not merge)."""
    same = Q(ghl_id=contact.ghl_id)
    if contact.email:
        same |= Q(email__iexact=contact.email)
    if contact.phone:
        same |= Q(phone=contact.phone)
    contacts = MirrorContact.objects.for_location(location).filter(same).values("ghl_id")
    previous = (
        RoutingDecision.objects.for_location(location)
        .filter(contact_ghl_id__in=contacts)
        .exclude(agent_ghl_id="")
        .order_by("-created_at", "-id")
        .values_list("agent_ghl_id", flat=True)
        .first()
    )
    return previous or ""


def unroutable(*, location: Location) -> Any:
    """The unroutable queue: current decisions without an agent, oldest first."""
    return (
        RoutingDecision.objects.for_location(location)
        .filter(is_current=True, status=Status.UNROUTABLE)
        .order_by("created_at")
    )
