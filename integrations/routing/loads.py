"""Agents' current workload, read inside the routing transaction (after their rows are locked).

Open leads of an agent (the open-lead cap and least-loaded): the leads routed to them whose
contact has no closed (won / lost / abandoned) opportunity in the mirror yet, plus the open
opportunities GHL shows assigned to them for contacts we never routed to them (their existing
book). A routed lead therefore stops counting once its deal closes in GHL."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from datetime import date, datetime

from django.db import connection
from django.db.models import Count, Exists, OuterRef

from integrations.mirror.models import MirrorOpportunity
from tenants.models import Location

from .models import AgentDayCount, RoutingDecision

CLOSED = ("won", "lost", "abandoned")
ROUTED = (RoutingDecision.Status.ASSIGNED, RoutingDecision.Status.FALLBACK)


def day_counts(*, location: Location, agents: Collection[str], day: date) -> dict[str, int]:
    rows = AgentDayCount.objects.for_location(location).filter(agent_ghl_id__in=agents, day=day)
    return dict(rows.values_list("agent_ghl_id", "count"))


def day_counts_add(*, location: Location, day: date, counts: Mapping[str, int]) -> None:
    """One statement for every agent of a batch, no read-modify-write: safe whatever else
    runs."""
    if not counts:
        return
    table = AgentDayCount._meta.db_table
    agents = sorted(counts)  # one order for every writer: concurrent batches cannot deadlock
    values = ", ".join(["(%s, %s, %s, %s)"] * len(agents))
    params: list[int | str | date] = []
    for agent in agents:
        params += [location.pk, agent, day, counts[agent]]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (location_id, agent_ghl_id, day, count) "  # noqa: S608
            f"VALUES {values} ON CONFLICT (location_id, agent_ghl_id, day) "
            f"DO UPDATE SET count = {table}.count + EXCLUDED.count",
            params,
        )


def open_loads(
    *, location: Location, agents: Collection[str], before: datetime | None = None
) -> dict[str, int]:
    """`before`: only leads routed, and opportunities opened, before that instant (where the
    simulator starts its replay); closures are taken as they stand now."""
    closed = MirrorOpportunity.objects.for_location(location).filter(
        contact_ghl_id=OuterRef("contact_ghl_id"), status__in=CLOSED
    )
    routed = (
        RoutingDecision.objects.for_location(location)
        .filter(is_current=True, status__in=ROUTED, agent_ghl_id__in=agents)
        .exclude(Exists(closed))
    )
    if before is not None:
        routed = routed.filter(created_at__lt=before)
    routed = routed.values("agent_ghl_id").annotate(n=Count("id"))
    ours = RoutingDecision.objects.for_location(location).filter(
        is_current=True,
        contact_ghl_id=OuterRef("contact_ghl_id"),
        agent_ghl_id=OuterRef("assigned_to"),
    )
    book = (
        MirrorOpportunity.objects.for_location(location)
        .filter(status="open", assigned_to__in=agents)
        .exclude(Exists(ours))
    )
    if before is not None:
        book = book.exclude(ghl_created_at__gte=before)
    book = book.values("assigned_to").annotate(n=Count("id"))
    loads: Counter[str] = Counter()
    for row in routed:
        loads[row["agent_ghl_id"]] += row["n"]
    for row in book:
        loads[row["assigned_to"]] += row["n"]
    return {agent: loads[agent] for agent in agents}
