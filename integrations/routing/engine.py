"""`route_lead`: one lead → one stored, explainable `RoutingDecision`.

Concurrency: each decision is one transaction that first locks the matched rule's state row
(round-robin pointer, weighted state) and then the profile rows of every agent the rule can
reach, in id order (so two rules sharing agents cannot deadlock). Caps are read after those
locks, so leads arriving together are serialised exactly where they compete and an agent is
never pushed past a cap; leads for unrelated rules and agents still run in parallel.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import structlog
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from integrations.mirror.models import MirrorContact
from integrations.webhooks_out.catalog import LEAD_ROUTED
from integrations.webhooks_out.payloads import lead_routed_data
from saas_platform.kernel.errors import NotFound
from tenants.events import event_publish
from tenants.models import Location

from . import decide, loads
from .availability import local_now
from .models import AgentProfile, RoutingDecision, RoutingRule, RoutingRuleState, Strategy

log = structlog.get_logger(__name__)
Status = RoutingDecision.Status


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
    rule = decide.rule_match(rules, contact)
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
            event_publish(
                location=location, event_type=LEAD_ROUTED, data=lead_routed_data(decision)
            )
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
        verdict = decide.no_rule()
        decision.status, decision.summary = verdict.status, verdict.summary
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
    pointers = decide.Pointers(
        state.last_agent, state.fallback_last_agent, dict(state.current_weights)
    )
    verdict = decide.rule_decide(
        rule=rule,
        pointers=pointers,
        profiles=profiles,
        contact=contact,
        now=now,
        location_tz=location.timezone,
        per_day=loads.day_counts(location=location, agents=ids, day=today) if capped else {},
        open_now=loads.open_loads(location=location, agents=ids) if need_load else {},
        previous_agent=lambda: _previous_agent(contact, location),
    )
    decision.status, decision.agent_ghl_id = verdict.status, verdict.agent
    decision.candidates, decision.summary = verdict.candidates, verdict.summary
    if verdict.agent:
        state.last_agent, state.fallback_last_agent = (
            pointers.last_agent,
            pointers.fallback_last_agent,
        )
        state.current_weights = pointers.current_weights
        state.save(update_fields=["last_agent", "fallback_last_agent", "current_weights"])
        loads.day_count_bump(location=location, agent=verdict.agent, day=today)
    return decision


def _lock_profiles(location: Location, pools: list[dict[str, Any]]) -> list[AgentProfile]:
    query = AgentProfile.objects.for_location(location)
    listed = [decide.pool_ids(pool) for pool in pools if pool]
    if all(ids is not None for ids in listed):
        query = query.filter(ghl_user_id__in={i for ids in listed for i in ids or []})
    return list(query.select_for_update().order_by("ghl_user_id"))


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
