"""The pure decision core shared by `engine.route_lead` and the simulator: which rule matches a
lead and, under that rule, which agent takes it and why the others did not.

Nothing here reads or writes the database. The caller hands in the agent profiles, the rule's
strategy state (`Pointers`), the day's counts and the open loads as they stand, and gets the
decision back with `Pointers` moved on; the engine keeps those inputs in locked rows, the
simulator in memory. One core means a simulation cannot drift from what routing really does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.mirror.models import MirrorContact

from . import conditions, strategies
from .availability import unavailable_reason
from .models import AgentProfile, RoutingDecision, RoutingRule, Strategy

Status = RoutingDecision.Status
CAP_REASONS = frozenset({"daily_cap", "open_cap"})
# Why a candidate was skipped, for people (the codes are what decisions store).
REASONS = {
    "inactive": _("not taking leads (inactive)"),
    "out_of_office": _("out of office"),
    "outside_hours": _("outside business hours"),
    "daily_cap": _("daily cap reached"),
    "open_cap": _("open-lead cap reached"),
    "not_specialist": _("not a specialist for this lead"),
    "no_profile": _("no agent profile"),
}


@dataclass
class Pointers:
    """A rule's strategy state: round-robin pointers and smooth-weighted current weights."""

    last_agent: str = ""
    fallback_last_agent: str = ""
    current_weights: dict[str, int] = field(default_factory=dict)


@dataclass
class Verdict:
    status: str
    agent: str = ""
    candidates: list[dict[str, Any]] = field(default_factory=list)
    summary: str = ""


@dataclass
class _Pick:
    candidates: list[dict[str, Any]] = field(default_factory=list)
    eligible: list[AgentProfile] = field(default_factory=list)


def rule_match(rules: Iterable[RoutingRule], contact: MirrorContact) -> RoutingRule | None:
    """The first rule (in the order given) whose conditions the lead meets."""
    return next((r for r in rules if conditions.matches(r.conditions, contact)), None)


def no_rule() -> Verdict:
    return Verdict(status=Status.UNROUTABLE, summary="No enabled rule matched the lead.")


def pool_ids(pool: Mapping[str, Any]) -> list[str] | None:
    """The listed agents, or None for "every agent of the location" (an attribute-only pool)."""
    return list(pool["agents"]) if pool.get("agents") else None


def rule_decide(
    *,
    rule: RoutingRule,
    pointers: Pointers,
    profiles: Sequence[AgentProfile],
    contact: MirrorContact,
    now: datetime,
    location_tz: str,
    per_day: Mapping[str, int],
    open_now: Mapping[str, int],
    previous_agent: Callable[[], str],
) -> Verdict:
    """Route one lead under its matched rule. `profiles` must hold every agent the rule's pools
    can reach (more is harmless); `per_day` is today's count per agent, in the location's day;
    `previous_agent` is asked only by a sticky rule. `pointers` is updated only when an agent
    is chosen."""
    by_id = {p.ghl_user_id: p for p in profiles}
    main = _evaluate(rule.pool, "main", by_id, contact, now, location_tz, per_day, open_now)
    chosen = None
    status = Status.ASSIGNED
    if main.eligible:
        chosen = _choose(rule, pointers, main, open_now, previous_agent)
    candidates = main.candidates
    if chosen is None and rule.fallback_pool:
        fallback = _evaluate(
            rule.fallback_pool, "fallback", by_id, contact, now, location_tz, per_day, open_now
        )
        candidates += fallback.candidates
        if fallback.eligible:
            ids = [p.ghl_user_id for p in fallback.eligible]
            chosen = strategies.round_robin(ids, pointers.fallback_last_agent)
            pointers.fallback_last_agent, status = chosen, Status.FALLBACK
    if chosen is None:
        return Verdict(
            status=Status.UNROUTABLE,
            candidates=candidates,
            summary=f"Rule {rule.name!r} matched but no agent was eligible.",
        )
    for entry in candidates:
        entry["chosen"] = entry["agent"] == chosen and entry["eligible"]
    via = "fallback pool" if status == Status.FALLBACK else rule.strategy.replace("_", " ")
    return Verdict(
        status=status,
        agent=chosen,
        candidates=candidates,
        summary=f"Rule {rule.name!r} → {chosen} ({via}).",
    )


def _evaluate(
    pool: dict[str, Any],
    lane: str,
    by_id: Mapping[str, AgentProfile],
    contact: MirrorContact,
    now: datetime,
    location_tz: str,
    per_day: Mapping[str, int],
    open_now: Mapping[str, int],
) -> _Pick:
    ids = pool_ids(pool)
    members = sorted(by_id) if ids is None else sorted(set(ids))
    wanted = _wanted(pool, contact)
    pick = _Pick()
    for agent_id in members:
        profile = by_id.get(agent_id)
        reason, detail = _skip(profile, wanted, pool, now, location_tz, per_day, open_now)
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
    location_tz: str,
    per_day: Mapping[str, int],
    open_now: Mapping[str, int],
) -> tuple[str | None, str]:
    if profile is None:
        return "no_profile", "listed in the pool but has no agent profile"
    if wanted is not None:
        attribute = pool["match"]["attribute"]
        offered = {str(v).strip().casefold() for v in profile.attributes.get(attribute, [])}
        if not offered & wanted:
            return "not_specialist", f"{attribute} {sorted(offered)} ∌ {sorted(wanted)}"
    reason = unavailable_reason(profile, now, location_tz)
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
    pointers: Pointers,
    pick: _Pick,
    open_now: Mapping[str, int],
    previous_agent: Callable[[], str],
) -> str:
    ids = [p.ghl_user_id for p in pick.eligible]
    if rule.strategy == Strategy.WEIGHTED:
        weights = {p.ghl_user_id: p.weight for p in pick.eligible}
        chosen, pointers.current_weights = strategies.smooth_weighted(
            weights, pointers.current_weights
        )
        return chosen
    if rule.strategy == Strategy.LEAST_LOADED:
        chosen = strategies.least_loaded({i: open_now.get(i, 0) for i in ids}, pointers.last_agent)
    elif rule.strategy == Strategy.STICKY and (previous := previous_agent()) in ids:
        return previous  # the pointer is left alone: the turn was not used
    else:
        chosen = strategies.round_robin(ids, pointers.last_agent)
    pointers.last_agent = chosen
    return chosen
