"""`route_lead` / `leads_route`: leads → stored, explainable `RoutingDecision`s.

Leads of one location are routed together (a drain of the routing queue hands over every lead
of the location that is waiting; `route_lead` is a batch of one): one transaction, one read of
the rules, one lock of what the matched rules need, the caps read once and carried through the
batch in memory, the decisions inserted in one statement.

Concurrency: the transaction first locks the state rows of the matched rules (round-robin
pointer, weighted state) in rule id order, then the profile rows of every agent those rules can
reach, in id order (so batches and rules sharing agents cannot deadlock). Caps are read after
those locks, so leads arriving together are serialised exactly where they compete and an agent
is never pushed past a cap; leads for unrelated rules and agents still run in parallel.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import structlog
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from integrations.mirror.models import MirrorContact
from integrations.webhooks_out.catalog import LEAD_ROUTED
from integrations.webhooks_out.payloads import lead_routed_data
from saas_platform.kernel.errors import NotFound
from tenants.entitlements import feature_require
from tenants.events import events_publish_many
from tenants.models import Location

from . import decide, loads
from .availability import local_now
from .models import AgentProfile, RoutingDecision, RoutingRule, RoutingRuleState, Strategy

log = structlog.get_logger(__name__)
Status = RoutingDecision.Status
# A lead of the batch decided elsewhere at the same moment rolls the batch back; it is then
# routed again, finding that decision. Bounded, should something keep conflicting.
CONFLICT_ATTEMPTS = 3


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
    decisions = leads_route(
        location=location, contact_ghl_ids=[contact_ghl_id], now=now, reroute=reroute
    )
    if contact_ghl_id not in decisions:
        raise NotFound(f"Contact {contact_ghl_id} is not in the mirror of this location.")
    return decisions[contact_ghl_id]


def leads_route(
    *,
    location: Location,
    contact_ghl_ids: Sequence[str],
    now: datetime | None = None,
    reroute: bool = False,
) -> dict[str, RoutingDecision]:
    """Route leads of one location in the order given; returns each contact's current
    decision. A contact already decided keeps its decision unless `reroute`; a contact not in
    the mirror is left out of the answer. Refused (`NotEntitled`) while the location's plan
    leaves routing out or its billing is paused: queued leads wait instead (`queue`)."""
    now = now or timezone.now()
    ids = list(dict.fromkeys(contact_ghl_ids))
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            return _route_batch(location, ids, now, reroute)
        except IntegrityError:
            # A lead routed at the same moment elsewhere: that decision stands. A batch is
            # rolled back whole and routed again, now finding it decided.
            if not reroute and attempt < CONFLICT_ATTEMPTS:
                continue
            found = _current(location, ids)
            if len(found) < len(ids):
                raise
            return found
    raise AssertionError("unreachable")  # pragma: no cover


def _current(location: Location, contact_ghl_ids: Sequence[str]) -> dict[str, RoutingDecision]:
    rows = RoutingDecision.objects.for_location(location).filter(
        contact_ghl_id__in=contact_ghl_ids, is_current=True
    )
    return {d.contact_ghl_id: d for d in rows}


def _route_batch(
    location: Location, ids: list[str], now: datetime, reroute: bool
) -> dict[str, RoutingDecision]:
    start = time.perf_counter()
    found = {} if reroute else _current(location, ids)
    todo = [c for c in ids if c not in found]
    if not todo:
        return found
    # Decisions already made stay readable; a new one needs routing in the plan.
    feature_require(location=location, feature="routing")
    mirrored = MirrorContact.objects.for_location(location).filter(ghl_id__in=todo)
    by_id = {c.ghl_id: c for c in mirrored}
    contacts = [by_id[c] for c in todo if c in by_id]
    if not contacts:
        return found
    rules = list(
        RoutingRule.objects.for_location(location).filter(enabled=True).order_by("position", "id")
    )
    matched = [(contact, decide.rule_match(rules, contact)) for contact in contacts]
    match_ms = _ms(start)
    with transaction.atomic():
        if reroute:
            RoutingDecision.objects.for_location(location).filter(
                contact_ghl_id__in=[c.ghl_id for c in contacts], is_current=True
            ).update(is_current=False)
        decisions = _Batch(location, now, [rule for _, rule in matched if rule]).decide(matched)
        timings = {"match_ms": match_ms, "total_ms": _ms(start)}
        for decision in decisions:
            decision.timings = timings
        RoutingDecision.objects.for_location(location).bulk_create(decisions)
        # In the same transaction: customers' webhooks hear of exactly the decisions that stand.
        events_publish_many(
            location=location,
            event_type=LEAD_ROUTED,
            datas=[lead_routed_data(decision) for decision in decisions],
        )
    for decision in decisions:
        log.info(
            "routing.decided",
            location_id=location.pk,
            contact=decision.contact_ghl_id,
            status=decision.status,
            agent=decision.agent_ghl_id,
            rule=decision.rule_name,
        )
        found[decision.contact_ghl_id] = decision
    return found


class _Batch:
    """The locked inputs of one batch and the in-memory running totals that keep caps, pointers
    and stickiness exact from one lead of the batch to the next."""

    def __init__(self, location: Location, now: datetime, rules: list[RoutingRule]) -> None:
        self.location, self.now = location, now
        self.rules = {rule.pk: rule for rule in sorted(rules, key=lambda r: r.pk)}
        self.states = self._lock_states()
        pools = [pool for rule in self.rules.values() for pool in (rule.pool, rule.fallback_pool)]
        self.profiles = _lock_profiles(location, pools) if self.rules else []
        self.today = local_now(now, location.timezone).date()
        ids = [p.ghl_user_id for p in self.profiles]
        capped = any(p.max_per_day is not None for p in self.profiles)
        need_load = any(r.strategy == Strategy.LEAST_LOADED for r in self.rules.values()) or any(
            p.max_open for p in self.profiles
        )
        self.per_day = (
            loads.day_counts(location=location, agents=ids, day=self.today) if capped else {}
        )
        self.open_now = loads.open_loads(location=location, agents=ids) if need_load else {}
        self.pointers = {
            pk: decide.Pointers(s.last_agent, s.fallback_last_agent, dict(s.current_weights))
            for pk, s in self.states.items()
        }
        self.given: list[tuple[MirrorContact, str]] = []  # this batch's assignments, in order

    def _lock_states(self) -> dict[int, RoutingRuleState]:
        if not self.rules:
            return {}
        states = RoutingRuleState.objects.for_location(self.location).select_for_update()
        wanted = list(self.rules)
        locked = {s.rule_id: s for s in states.filter(rule_id__in=wanted).order_by("rule_id")}
        if len(locked) < len(wanted):  # rules saved through `rule_save` always have one
            for pk in set(wanted) - set(locked):
                RoutingRuleState.objects.for_location(self.location).get_or_create(
                    location=self.location, rule=self.rules[pk]
                )
            locked = {s.rule_id: s for s in states.filter(rule_id__in=wanted).order_by("rule_id")}
        return locked

    def decide(
        self, matched: list[tuple[MirrorContact, RoutingRule | None]]
    ) -> list[RoutingDecision]:
        decisions = [self._one(contact, rule) for contact, rule in matched]
        moved = [self.states[pk] for pk in self.pointers if self._moved(pk)]
        for state in moved:
            pointers = self.pointers[state.rule_id]
            state.last_agent, state.fallback_last_agent = (
                pointers.last_agent,
                pointers.fallback_last_agent,
            )
            state.current_weights = pointers.current_weights
        if moved:
            _states_save(self.location, moved)
        given = Counter(agent for _, agent in self.given)
        if given:
            loads.day_counts_add(location=self.location, day=self.today, counts=given)
        return decisions

    def _moved(self, rule_pk: int) -> bool:
        state, pointers = self.states[rule_pk], self.pointers[rule_pk]
        return (state.last_agent, state.fallback_last_agent, state.current_weights) != (
            pointers.last_agent,
            pointers.fallback_last_agent,
            pointers.current_weights,
        )

    def _one(self, contact: MirrorContact, rule: RoutingRule | None) -> RoutingDecision:
        decision = RoutingDecision(
            location=self.location,
            contact_ghl_id=contact.ghl_id,
            created_at=self.now,
            is_current=True,
        )
        if rule is None:
            verdict = decide.no_rule()
            decision.status, decision.summary = verdict.status, verdict.summary
            return decision
        decision.rule, decision.rule_name, decision.strategy = rule, rule.name, rule.strategy
        verdict = decide.rule_decide(
            rule=rule,
            pointers=self.pointers[rule.pk],
            profiles=self.profiles,
            contact=contact,
            now=self.now,
            location_tz=self.location.timezone,
            per_day=self.per_day,
            open_now=self.open_now,
            previous_agent=lambda: self._previous_agent(contact),
        )
        decision.status, decision.agent_ghl_id = verdict.status, verdict.agent
        decision.candidates, decision.summary = verdict.candidates, verdict.summary
        if verdict.agent:
            # What the database would say for the next lead of the batch: one more lead today
            # and one more open lead for the agent.
            self.per_day[verdict.agent] = self.per_day.get(verdict.agent, 0) + 1
            self.open_now[verdict.agent] = self.open_now.get(verdict.agent, 0) + 1
            self.given.append((contact, verdict.agent))
        return decision

    def _previous_agent(self, contact: MirrorContact) -> str:
        """Sticky: the agent given this contact (or its e-mail or phone) earlier in this batch,
        else before it."""
        email = contact.email.casefold() if contact.email else ""
        for earlier, agent in reversed(self.given):
            if (
                earlier.ghl_id == contact.ghl_id
                or (email and (earlier.email or "").casefold() == email)
                or (contact.phone and earlier.phone == contact.phone)
            ):
                return agent
        return _previous_agent(contact, self.location)


_STATES_SQL = f"""
    UPDATE {RoutingRuleState._meta.db_table} s
       SET last_agent = v.last_agent, fallback_last_agent = v.fallback_last_agent,
           current_weights = v.current_weights::jsonb
      FROM unnest(%(ids)s::bigint[], %(last)s::text[], %(fallback)s::text[],
                  %(weights)s::text[]) AS v(id, last_agent, fallback_last_agent, current_weights)
     WHERE s.id = v.id AND s.location_id = %(location)s
"""  # noqa: S608 — the table name from the model, values bound


def _states_save(location: Location, states: list[RoutingRuleState]) -> None:
    """The rules' moved pointers, in one statement whose text never changes (the ORM's bulk
    update composes a CASE per field and row: a batch's costliest statement to build)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _STATES_SQL,
            {
                "ids": [s.pk for s in states],
                "last": [s.last_agent for s in states],
                "fallback": [s.fallback_last_agent for s in states],
                "weights": [json.dumps(s.current_weights) for s in states],
                "location": location.pk,
            },
        )


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
