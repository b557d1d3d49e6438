"""What a dashboard page shows, independent of the site serving it (the admin sites now, the
branded portal later): the period and filters read from the query, the figures, the tables, the
charts and the export links. Templates: reporting/dashboard_body.html."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from integrations.packs.selectors import pack_report_set
from tenants.models import Agency, Location

from . import charts
from .figures import SECTIONS, ZERO, Dashboard
from .ranges import PRESETS, BadRange, Period, filters_parse, period_parse, today_in
from .selectors import dashboard_agency, dashboard_location
from .tables import Table, dashboard_tables, duration, money, percent

QUERY_KEYS = ("range", "from", "to", "location", "source", "pipeline", "agent", "agency")


@dataclass
class Page:
    query: dict[str, str]
    period: Period | None = None
    board: Dashboard | None = None
    tables: list[Table] = field(default_factory=list)
    charts: dict[str, SafeString] = field(default_factory=dict)
    kpis: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""
    location_choices: list[tuple[str, str]] = field(default_factory=list)
    presets: dict[str, str] = field(default_factory=lambda: dict(PRESETS))

    @property
    def query_string(self) -> str:
        return urlencode({k: v for k, v in self.query.items() if v})


def sections_for(location: Location | None) -> tuple[str, ...]:
    """The report set a location shows: what its activated industry packs declare, in the
    dashboard's order; every section without a pack (and on the agency's cross-location view)."""
    chosen = pack_report_set(location=location) if location is not None else None
    return SECTIONS if chosen is None else tuple(s for s in SECTIONS if s in chosen)


def dashboard_page(
    *, agency: Agency, locations: list[Location], query: Mapping[str, str], colour: str
) -> Page:
    """The agency dashboard, or one location's when the query names one of `locations`."""
    page = Page(query={k: str(query.get(k, "")) for k in QUERY_KEYS if query.get(k)})
    by_id = {loc.pk: loc for loc in locations}
    page.location_choices = [(str(loc.pk), loc.name) for loc in locations]
    try:
        filters = filters_parse(query, location_ids=set(by_id))
        location = by_id.get(filters.location_id) if filters.location_id else None
        page.period = period_parse(query, today=today_in(location.timezone if location else "UTC"))
    except BadRange as exc:
        page.error = exc.message
        return page
    span = {"date_from": page.period.date_from, "date_to": page.period.date_to}
    if location is not None:
        page.board = dashboard_location(location=location, filters=filters, **span)
    else:
        page.board = dashboard_agency(agency=agency, filters=filters, **span)
    page.tables = dashboard_tables(page.board, sections_for(location))
    page.charts = _charts(page.board, colour)
    page.kpis = _kpis(page.board)
    return page


def _kpis(board: Dashboard) -> list[tuple[str, str]]:
    return [
        ("Leads", f"{board.total_leads:,}"),
        (_("Open pipeline"), money(sum((s.value for s in board.pipeline_by_stage), ZERO))),
        (_("Win rate"), percent(board.win_rate.rate)),
        (_("Avg. first reply"), duration(board.speed_to_lead.avg_respond_seconds)),
        (_("Show rate"), percent(board.appointments.show_rate)),
    ]


def _charts(board: Dashboard, colour: str) -> dict[str, SafeString]:
    found: dict[str, Any] = {}
    if board.total_leads:
        found["leads_by_day"] = charts.column_chart(
            [(d.day.isoformat(), d.leads) for d in board.leads_by_day],
            colour=colour,
            title=_("Leads by day"),
        )
        found["leads_by_source"] = charts.bar_chart(
            [(s.source or "(no source)", s.leads) for s in board.leads_by_source],
            colour=colour,
            title=_("Leads by source"),
        )
    found["pipeline_value_by_stage"] = charts.bar_chart(
        [(f"{s.pipeline} · {s.stage}", s.value) for s in board.pipeline_by_stage],
        colour=colour,
        title=_("Open pipeline value by stage"),
    )
    found["appointments"] = charts.column_chart(
        [(d.day.isoformat(), d.booked) for d in board.appointments.by_day],
        colour=colour,
        title=_("Appointments booked by day"),
    )
    found["routing_distribution"] = charts.bar_chart(
        [(r.name, r.total) for r in board.routing], colour=colour, title=_("Leads routed per agent")
    )
    return {key: svg for key, svg in found.items() if svg}
