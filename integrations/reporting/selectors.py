"""The dashboards' figures, read only from the rollups, in a fixed number of queries.

`dashboard_location` and `dashboard_agency` answer the same `Dashboard`: the agency's sums every
location of the agency (or one, with the location filter), each location's days in its own time
zone. Which filters apply where: source, agent and pipeline narrow the opportunity figures;
source and agent the leads; agent the appointments and routing. The pipeline as it stands
(`pipeline_by_stage`) is today's, whatever the dates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum

from tenants import selectors as tenant_selectors
from tenants.models import Agency, Location

from .figures import (
    ZERO,
    AgentRow,
    Appointments,
    Choice,
    Dashboard,
    DayAppointments,
    DayLeads,
    Filters,
    PnlRow,
    RoutingRow,
    SourceLeads,
    SpeedToLead,
    StageValue,
    WinRate,
)
from .models import AppointmentDay, LeadDay, OutcomeDay, PipelineStage, ReportLabel, RoutingDay


def dashboard_location(
    *, location: Location, date_from: date, date_to: date, filters: Filters | None = None
) -> Dashboard:
    """One location's dashboard (six queries)."""
    filters = replace(filters, location_id=None) if filters else Filters()
    return _dashboard(
        scope="location",
        title=location.name,
        locations=[location],
        date_from=date_from,
        date_to=date_to,
        filters=filters,
    )


def dashboard_agency(
    *, agency: Agency, date_from: date, date_to: date, filters: Filters | None = None
) -> Dashboard:
    """Every location of the agency, or the one the filter names (seven queries)."""
    filters = filters or Filters()
    locations = list(Location.objects.for_agency(agency).order_by("name", "pk"))
    chosen = [loc for loc in locations if not filters.location_id or loc.pk == filters.location_id]
    return _dashboard(
        scope="agency",
        title=agency.name,
        locations=chosen,
        date_from=date_from,
        date_to=date_to,
        filters=filters,
        location_choices=tuple(Choice(str(loc.pk), loc.name) for loc in locations),
    )


# --- the reads ----------------------------------------------------------------------------------


def _dashboard(
    *,
    scope: str,
    title: str,
    locations: list[Location],
    date_from: date,
    date_to: date,
    filters: Filters,
    location_choices: tuple[Choice, ...] = (),
) -> Dashboard:
    ids = [loc.pk for loc in locations]
    mine = {"location_id__in": ids}  # as keywords: that is what the scoped manager checks
    days = Q(day__gte=date_from, day__lte=date_to)
    agent = Q(agent=filters.agent) if filters.agent else Q()
    source = Q(source=filters.source) if filters.source else Q()
    pipeline = Q(pipeline=filters.pipeline) if filters.pipeline else Q()

    labels: dict[tuple[str, str], str] = {}
    positions: dict[str, int] = {}
    for kind, key, label, position in ReportLabel.objects.filter(**mine).values_list(
        "kind", "key", "label", "position"
    ):
        labels[(kind, key)] = label
        if kind == ReportLabel.Kind.STAGE:
            positions[key] = position

    leads = list(
        LeadDay.objects.filter(days & agent & source, **mine)
        .values("day", "source", "agent")
        .annotate(
            n=Sum("leads"),
            assigned_n=Sum("assigned"),
            assign_s=Sum("assign_seconds"),
            responded_n=Sum("responded"),
            respond_s=Sum("respond_seconds"),
            fast=Sum("responded_5m"),
        )
        .order_by()
    )
    stages = list(
        PipelineStage.objects.filter(agent & source & pipeline, **mine)
        .values("location_id", "pipeline", "stage", "status")
        .annotate(n=Sum("opportunities"), v=Sum("value"))
        .order_by()
    )
    outcomes = list(
        OutcomeDay.objects.filter(days & agent & source & pipeline, **mine)
        .values("location_id", "agent")
        .annotate(
            opened_n=Sum("opened"),
            won_n=Sum("won"),
            lost_n=Sum("lost"),
            won_v=Sum("won_value"),
            lost_v=Sum("lost_value"),
        )
        .order_by()
    )
    appointments = list(
        AppointmentDay.objects.filter(days & agent, **mine)
        .values("day", "agent")
        .annotate(
            booked_n=Sum("booked"),
            showed_n=Sum("showed"),
            no_show_n=Sum("no_show"),
            cancelled_n=Sum("cancelled"),
        )
        .order_by()
    )
    routing = list(
        RoutingDay.objects.filter(days & agent, **mine)
        .values("agent", "status")
        .annotate(n=Sum("decisions"))
        .order_by()
    )
    revenue = tenant_selectors.location_revenue(
        location_ids=ids, date_from=date_from, date_to=date_to
    )

    def name(kind: str, key: str, empty: str) -> str:
        return labels.get((kind, key), key) if key else empty

    return Dashboard(
        scope=scope,
        title=title,
        date_from=date_from,
        date_to=date_to,
        filters=filters,
        leads_by_day=_leads_by_day(leads, date_from, date_to),
        leads_by_source=_leads_by_source(leads),
        pipeline_by_stage=_stages(stages, name, positions),
        win_rate=_win_rate(outcomes),
        speed_to_lead=_speed(leads),
        appointments=_appointments(appointments),
        agents=_agents(leads, outcomes, appointments, name),
        routing=_routing(routing, name),
        pnl=_pnl(locations, stages, outcomes, revenue),
        revenue_connected=bool(revenue),
        sources=_choices(labels, ReportLabel.Kind.SOURCE),
        pipelines=_choices(labels, ReportLabel.Kind.PIPELINE),
        agent_choices=_choices(labels, ReportLabel.Kind.AGENT),
        locations=location_choices,
    )


def _choices(labels: Mapping[tuple[str, str], str], kind: str) -> tuple[Choice, ...]:
    found = {key: label for (k, key), label in labels.items() if k == kind}
    if kind == ReportLabel.Kind.SOURCE:  # filtered by the source itself, not its short key
        found = {label: label for label in found.values()}
    return tuple(Choice(key, label) for key, label in sorted(found.items(), key=lambda i: i[1]))


def _leads_by_day(rows: list[dict[str, Any]], start: date, end: date) -> tuple[DayLeads, ...]:
    per_day: dict[date, int] = defaultdict(int)
    for row in rows:
        per_day[row["day"]] += row["n"]
    span = (end - start).days + 1
    return tuple(
        DayLeads(day, per_day.get(day, 0))
        for day in (date.fromordinal(start.toordinal() + i) for i in range(span))
    )


def _leads_by_source(rows: list[dict[str, Any]]) -> tuple[SourceLeads, ...]:
    per_source: dict[str, int] = defaultdict(int)
    for row in rows:
        per_source[row["source"]] += row["n"]
    ranked = sorted(per_source.items(), key=lambda item: (-item[1], item[0]))
    return tuple(SourceLeads(source, n) for source, n in ranked if n)


def _stages(
    rows: list[dict[str, Any]], name: Any, positions: dict[str, int]
) -> tuple[StageValue, ...]:
    """Open opportunities per pipeline and stage, in board order."""
    open_ones: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [0, ZERO])
    for row in rows:
        if row["status"] != "open":
            continue
        held = open_ones[(row["pipeline"], row["stage"])]
        held[0] += row["n"]
        held[1] += row["v"]
    ordered = sorted(
        open_ones.items(),
        key=lambda item: (name("pipeline", item[0][0], "—"), positions.get(item[0][1], 0)),
    )
    return tuple(
        StageValue(name("pipeline", p, "(no pipeline)"), name("stage", s, "(no stage)"), n, v)
        for (p, s), (n, v) in ordered
    )


def _win_rate(rows: list[dict[str, Any]]) -> WinRate:
    return WinRate(
        opened=sum(r["opened_n"] for r in rows),
        won=sum(r["won_n"] for r in rows),
        lost=sum(r["lost_n"] for r in rows),
        won_value=sum((r["won_v"] for r in rows), ZERO),
        lost_value=sum((r["lost_v"] for r in rows), ZERO),
    )


def _speed(rows: list[dict[str, Any]]) -> SpeedToLead:
    return SpeedToLead(
        leads=sum(r["n"] for r in rows),
        assigned=sum(r["assigned_n"] for r in rows),
        assign_seconds=sum(r["assign_s"] for r in rows),
        responded=sum(r["responded_n"] for r in rows),
        respond_seconds=sum(r["respond_s"] for r in rows),
        responded_5m=sum(r["fast"] for r in rows),
    )


def _appointments(rows: list[dict[str, Any]]) -> Appointments:
    per_day: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for row in rows:
        held = per_day[row["day"]]
        for i, key in enumerate(("booked_n", "showed_n", "no_show_n", "cancelled_n")):
            held[i] += row[key]
    by_day = tuple(DayAppointments(day, *per_day[day]) for day in sorted(per_day))
    return Appointments(
        booked=sum(d.booked for d in by_day),
        showed=sum(d.showed for d in by_day),
        no_show=sum(d.no_show for d in by_day),
        cancelled=sum(d.cancelled for d in by_day),
        by_day=by_day,
    )


def _agents(
    leads: list[dict[str, Any]],
    outcomes: list[dict[str, Any]],
    appointments: list[dict[str, Any]],
    name: Any,
) -> tuple[AgentRow, ...]:
    """Agents ranked by won value, then won deals, then leads; unassigned work is left out."""
    figures: dict[str, dict[str, Any]] = defaultdict(
        lambda: (
            dict.fromkeys(("leads", "responded", "respond_s", "won", "appts", "showed"), 0)
            | {"won_value": ZERO}
        )
    )
    for row in leads:
        if row["agent"]:
            held = figures[row["agent"]]
            held["leads"] += row["n"]
            held["responded"] += row["responded_n"]
            held["respond_s"] += row["respond_s"]
    for row in outcomes:
        if row["agent"]:
            figures[row["agent"]]["won"] += row["won_n"]
            figures[row["agent"]]["won_value"] += row["won_v"]
    for row in appointments:
        if row["agent"]:
            figures[row["agent"]]["appts"] += row["booked_n"]
            figures[row["agent"]]["showed"] += row["showed_n"]
    agents = [
        AgentRow(
            agent=agent,
            name=name("agent", agent, ""),
            leads=f["leads"],
            responded=f["responded"],
            respond_seconds=f["respond_s"],
            won=f["won"],
            won_value=f["won_value"],
            appointments=f["appts"],
            showed=f["showed"],
        )
        for agent, f in figures.items()
    ]
    agents.sort(key=lambda a: (-a.won_value, -a.won, -a.leads, a.name))
    return tuple(agents)


def _routing(rows: list[dict[str, Any]], name: Any) -> tuple[RoutingRow, ...]:
    per_agent: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        per_agent[row["agent"]][row["status"]] += row["n"]
    result = [
        RoutingRow(
            agent=agent,
            name=name("agent", agent, "(no agent)"),
            assigned=counts["assigned"],
            fallback=counts["fallback"],
            unroutable=counts["unroutable"],
        )
        for agent, counts in per_agent.items()
    ]
    result.sort(key=lambda r: (-r.total, r.name))
    return tuple(result)


def _pnl(
    locations: list[Location],
    stages: list[dict[str, Any]],
    outcomes: list[dict[str, Any]],
    revenue: Mapping[int, Decimal],
) -> tuple[PnlRow, ...]:
    open_value: dict[int, Decimal] = defaultdict(lambda: ZERO)
    won_value: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for row in stages:
        if row["status"] == "open":
            open_value[row["location_id"]] += row["v"]
    for row in outcomes:
        won_value[row["location_id"]] += row["won_v"]
    return tuple(
        PnlRow(
            location_id=loc.pk,
            location=loc.name,
            revenue=revenue.get(loc.pk),
            won_value=won_value[loc.pk],
            open_value=open_value[loc.pk],
        )
        for loc in locations
    )
