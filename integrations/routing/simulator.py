"""`routing_simulate`: what a rule set would have done with the location's real leads of the last
N days, beside what actually happened to them — without writing anything anywhere.

The leads (mirror contacts by `date_added`) are replayed in arrival order through the same
decision core as `route_lead` (`decide.rule_decide`), with the state the engine keeps in rows
kept in memory instead: each rule's pointers (starting fresh), per-agent counts of the lead's
local day (starting at zero), open-lead loads (starting from the leads routed, and
opportunities opened, before the window; a simulated lead stops counting when its contact's
opportunity closed in reality) and who had a returning contact before (seeded from the
decisions before the window). Hours and out-of-office are judged at each lead's own arrival.
"""

from __future__ import annotations

import heapq
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import F, Min, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from integrations.mirror.models import MirrorContact, MirrorOpportunity, MirrorUser
from saas_platform.kernel.errors import ApplicationError
from tenants.models import Location

from . import decide, loads
from .availability import local_now
from .figures import Column, Fairness
from .models import AgentProfile, RoutingDecision, RoutingRule, Strategy
from .services import rule_validate

MAX_DAYS = 365
Status = RoutingDecision.Status


@dataclass(frozen=True)
class AgentRow:
    agent: str
    name: str
    simulated: int
    simulated_share: float
    cap_hits: int
    actual: int
    actual_share: float
    in_pool: bool


@dataclass
class SimulationResult:
    days: int
    start: datetime
    end: datetime
    leads: int
    pool: list[str]  # the agents the rules can reach: the fairness population
    simulated: Column
    actual: Column
    names: dict[str, str] = field(default_factory=dict)
    elapsed_ms: float = 0.0

    @property
    def simulated_fairness(self) -> Fairness:
        return self.simulated.fairness(self.pool)

    @property
    def actual_fairness(self) -> Fairness:
        return self.actual.fairness(self.pool)

    def rows(self) -> list[AgentRow]:
        """One row per agent of the pool, or given leads on either side."""
        agents = set(self.pool) | set(self.simulated.per_agent) | set(self.actual.per_agent)
        pool = set(self.pool)
        return [
            AgentRow(
                agent=agent,
                name=self.names.get(agent, ""),
                simulated=self.simulated.per_agent[agent],
                simulated_share=self.simulated.share(agent),
                cap_hits=self.simulated.cap_hits[agent],
                actual=self.actual.per_agent[agent],
                actual_share=self.actual.share(agent),
                in_pool=agent in pool,
            )
            for agent in sorted(agents - {""})
        ]


def routing_simulate(
    *,
    location: Location,
    days: int,
    rules: Sequence[RoutingRule] | None = None,
    now: datetime | None = None,
) -> SimulationResult:
    """Replay the last `days` days of leads through `rules` (unsaved candidates, validated as
    `rule_save` would; None: the location's saved enabled rules, in order)."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ApplicationError(f"Simulate over 1 to {MAX_DAYS} days, not {days!r}.")
    started = time.perf_counter()
    end = now or timezone.now()
    start = end - timedelta(days=days)
    ruleset = _ruleset(location, rules)
    profiles = list(AgentProfile.objects.for_location(location).order_by("ghl_user_id"))
    pool = _reach(ruleset, profiles)
    contacts = (
        MirrorContact.objects.for_location(location)
        .filter(date_added__gte=start, date_added__lt=end)
        .order_by("date_added", "id")
    )
    replay = _Replay(location, ruleset, profiles, start, _closes(location, contacts))
    actual = _actual(location, contacts)
    result = SimulationResult(
        days=days, start=start, end=end, leads=0, pool=pool, simulated=Column(), actual=Column()
    )
    for contact in contacts.iterator(chunk_size=2000):
        result.leads += 1
        replay.route(contact, result.simulated)
        _count_actual(result.actual, actual.get(contact.ghl_id), contact.assigned_to)
    result.simulated.leads = result.actual.leads = result.leads
    users = MirrorUser.objects.for_location(location).only(
        "ghl_id", "first_name", "last_name", "email"
    )
    result.names = {user.ghl_id: str(user) for user in users}
    result.elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    return result


def _ruleset(location: Location, rules: Sequence[RoutingRule] | None) -> list[RoutingRule]:
    if rules is None:
        saved = RoutingRule.objects.for_location(location).filter(enabled=True)
        return list(saved.order_by("position", "id"))
    for rule in rules:
        if rule.location_id not in (None, location.pk):
            raise ApplicationError("A candidate rule belongs to another location.")
        try:
            rule_validate(
                location=location,
                name=rule.name,
                pool=rule.pool,
                strategy=rule.strategy,
                conditions=rule.conditions,
                fallback_pool=rule.fallback_pool,
                pipeline_id=rule.pipeline_id,
                stage_id=rule.stage_id,
            )
        except ApplicationError as error:
            raise ApplicationError(f"Rule {rule.name!r}: {error.message}") from error
    return [rule for rule in rules if rule.enabled]


def _reach(rules: Sequence[RoutingRule], profiles: Sequence[AgentProfile]) -> list[str]:
    everyone = [p.ghl_user_id for p in profiles]
    reached: set[str] = set()
    for rule in rules:
        for pool in (rule.pool, rule.fallback_pool):
            if pool:
                ids = decide.pool_ids(pool)
                reached.update(everyone if ids is None else ids)
    return sorted(reached)


class _Replay:
    """The engine's rows, in memory."""

    def __init__(
        self,
        location: Location,
        rules: list[RoutingRule],
        profiles: list[AgentProfile],
        start: datetime,
        closes: dict[str, datetime],
    ) -> None:
        self.location, self.rules, self.profiles = location, rules, profiles
        self.pointers = {id(rule): decide.Pointers() for rule in rules}
        self.day: date | None = None
        self.today: Counter[str] = Counter()
        ids = [p.ghl_user_id for p in profiles]
        self.open_now: Counter[str] = Counter(
            loads.open_loads(location=location, agents=ids, before=start)
        )
        self.closing: list[tuple[datetime, int, str]] = []  # (closed at, seq, agent)
        self.closes = closes
        self.seq = 0
        self.memory: dict[tuple[str, str], tuple[int, str]] = {}
        if any(rule.strategy == Strategy.STICKY for rule in rules):
            self._remember_before(start)

    def route(self, contact: MirrorContact, column: Column) -> None:
        at = contact.date_added
        assert at is not None  # noqa: S101 — the query keeps only dated contacts
        self._advance(at)
        rule = decide.rule_match(self.rules, contact)
        if rule is None:
            column.unroutable += 1
            return
        verdict = decide.rule_decide(
            rule=rule,
            pointers=self.pointers[id(rule)],
            profiles=self.profiles,
            contact=contact,
            now=at,
            location_tz=self.location.timezone,
            per_day=self.today,
            open_now=self.open_now,
            previous_agent=lambda: self._previous(contact),
        )
        for candidate in verdict.candidates:
            if candidate["reason"] in decide.CAP_REASONS:
                column.cap_hits[candidate["agent"]] += 1
        if not verdict.agent:
            column.unroutable += 1
            return
        column.per_agent[verdict.agent] += 1
        column.fallback += verdict.status == Status.FALLBACK
        self.today[verdict.agent] += 1
        closed_at = self.closes.get(contact.ghl_id)
        if closed_at is None or closed_at > at:
            self.open_now[verdict.agent] += 1
            if closed_at is not None:
                self.seq += 1
                heapq.heappush(self.closing, (closed_at, self.seq, verdict.agent))
        self._remember(contact, verdict.agent)

    def _advance(self, at: datetime) -> None:
        day = local_now(at, self.location.timezone).date()
        if day != self.day:
            self.day, self.today = day, Counter()
        while self.closing and self.closing[0][0] <= at:
            _, _, agent = heapq.heappop(self.closing)
            self.open_now[agent] -= 1

    @staticmethod
    def _keys(ghl_id: str, email: str, phone: str) -> list[tuple[str, str]]:
        keys = [("id", ghl_id)]
        if email:
            keys.append(("email", email.casefold()))
        if phone:
            keys.append(("phone", phone))
        return keys

    def _remember(self, contact: MirrorContact, agent: str) -> None:
        self.seq += 1
        for key in self._keys(contact.ghl_id, contact.email, contact.phone):
            self.memory[key] = (self.seq, agent)

    def _previous(self, contact: MirrorContact) -> str:
        """As `engine._previous_agent`: the latest agent of this contact or of another contact
        with its e-mail or phone."""
        keys = self._keys(contact.ghl_id, contact.email, contact.phone)
        known = [self.memory.get(key) for key in keys]
        latest = max((k for k in known if k is not None), default=None)
        return latest[1] if latest else ""

    def _remember_before(self, start: datetime) -> None:
        earlier = (
            RoutingDecision.objects.for_location(self.location)
            .filter(created_at__lt=start)
            .exclude(agent_ghl_id="")
            .order_by("created_at", "id")
        )
        who = {
            ghl_id: (email, phone)
            for ghl_id, email, phone in MirrorContact.objects.for_location(self.location)
            .filter(ghl_id__in=earlier.values("contact_ghl_id"))
            .values_list("ghl_id", "email", "phone")
            .iterator(chunk_size=5000)
        }
        rows = earlier.values_list("contact_ghl_id", "agent_ghl_id")
        for ghl_id, agent in rows.iterator(chunk_size=5000):
            self.seq += 1
            for key in self._keys(ghl_id, *who.get(ghl_id, ("", ""))):
                self.memory[key] = (self.seq, agent)


def _closes(location: Location, contacts: QuerySet[MirrorContact]) -> dict[str, datetime]:
    """When each lead of the window first had an opportunity closed (won / lost / abandoned)."""
    rows = (
        MirrorOpportunity.objects.for_location(location)
        .filter(status__in=loads.CLOSED, contact_ghl_id__in=contacts.values("ghl_id"))
        .annotate(at=Coalesce(F("last_status_change_at"), F("ghl_updated_at")))
        .exclude(at=None)
        .values("contact_ghl_id")
        .annotate(first=Min("at"))
        .values_list("contact_ghl_id", "first")
    )
    return dict(rows)


def _actual(
    location: Location, contacts: QuerySet[MirrorContact]
) -> dict[str, tuple[str, str, list[str]]]:
    """The current stored decision of each lead of the window: status, agent, capped agents."""
    rows = (
        RoutingDecision.objects.for_location(location)
        .filter(is_current=True, contact_ghl_id__in=contacts.values("ghl_id"))
        .values_list("contact_ghl_id", "status", "agent_ghl_id", "candidates")
    )
    return {
        ghl_id: (
            status,
            agent,
            [c["agent"] for c in candidates if c.get("reason") in decide.CAP_REASONS],
        )
        for ghl_id, status, agent, candidates in rows.iterator(chunk_size=2000)
    }


def _count_actual(
    column: Column, decision: tuple[str, str, list[str]] | None, assigned_to: str
) -> None:
    if decision is None:  # routed before routing existed, or by hand: GHL's assigned user
        if assigned_to:
            column.per_agent[assigned_to] += 1
        else:
            column.unassigned += 1
        return
    status, agent, capped = decision
    column.cap_hits.update(capped)
    if status == Status.UNROUTABLE:
        column.unroutable += 1
        return
    column.per_agent[agent] += 1
    column.fallback += status == Status.FALLBACK
