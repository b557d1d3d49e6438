"""A dashboard as tables of display strings: the page renders them and the CSV export writes them,
so what is downloaded is exactly what was shown."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from integrations.bulk.csv_table import csv_lines

from .figures import SECTIONS, Dashboard

NO_REVENUE = "revenue appears once billing is connected"


@dataclass(frozen=True)
class Table:
    key: str  # also the export's name
    section: str  # the report-set key it belongs to
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    empty: str = "Nothing in this period."


def money(value: Decimal) -> str:
    return f"{value:,.2f}"


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}%"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def dashboard_tables(board: Dashboard, sections: tuple[str, ...] = SECTIONS) -> list[Table]:
    total = board.total_leads
    tables = [
        Table(
            "leads_by_source",
            "leads_by_source",
            "Leads by source",
            ("Source", "Leads", "Share"),
            tuple(
                (s.source or "(no source)", str(s.leads), percent(s.leads / total))
                for s in board.leads_by_source
            ),
        ),
        Table(
            "leads_by_day",
            "leads_by_source",
            "Leads by day",
            ("Day", "Leads"),
            tuple((d.day.isoformat(), str(d.leads)) for d in board.leads_by_day) if total else (),
        ),
        Table(
            "pipeline_value_by_stage",
            "pipeline_value_by_stage",
            "Open pipeline by stage (now)",
            ("Pipeline", "Stage", "Opportunities", "Value"),
            tuple(
                (s.pipeline, s.stage, str(s.opportunities), money(s.value))
                for s in board.pipeline_by_stage
            ),
            empty="No open opportunities.",
        ),
        _win_rate(board),
        _speed(board),
        Table(
            "appointments",
            "appointments",
            "Appointments by day",
            ("Day", "Booked", "Showed", "No-show", "Cancelled", "Show rate"),
            tuple(
                (
                    d.day.isoformat(),
                    str(d.booked),
                    str(d.showed),
                    str(d.no_show),
                    str(d.cancelled),
                    percent(d.showed / (d.showed + d.no_show) if d.showed + d.no_show else None),
                )
                for d in board.appointments.by_day
            ),
        ),
        Table(
            "agent_leaderboard",
            "agent_leaderboard",
            "Agent leaderboard",
            ("Agent", "Leads", "Avg. first reply", "Won", "Won value", "Appointments", "Showed"),
            tuple(
                (
                    a.name,
                    str(a.leads),
                    duration(a.avg_respond_seconds),
                    str(a.won),
                    money(a.won_value),
                    str(a.appointments),
                    str(a.showed),
                )
                for a in board.agents
            ),
        ),
        Table(
            "routing_distribution",
            "routing_distribution",
            "Routing distribution",
            ("Agent", "Assigned", "Fallback", "Unroutable", "Total"),
            tuple(
                (r.name, str(r.assigned), str(r.fallback), str(r.unroutable), str(r.total))
                for r in board.routing
            ),
            empty="No leads were routed in this period.",
        ),
        Table(
            "pnl",
            "pnl",
            "Profit and loss by location",
            ("Location", "Revenue", "Won value", "Open pipeline"),
            tuple(
                (
                    p.location,
                    NO_REVENUE if p.revenue is None else money(p.revenue),
                    money(p.won_value),
                    money(p.open_value),
                )
                for p in board.pnl
            ),
            empty="No locations.",
        ),
    ]
    return [table for table in tables if table.section in sections]


def _win_rate(board: Dashboard) -> Table:
    win = board.win_rate
    rows = (
        ("Opportunities opened", str(win.opened)),
        ("Won", str(win.won)),
        ("Lost", str(win.lost)),
        ("Won value", money(win.won_value)),
        ("Lost value", money(win.lost_value)),
        ("Win rate", percent(win.rate)),
    )
    return Table("win_rate", "win_rate", "Win rate", ("Figure", "Value"), rows)


def _speed(board: Dashboard) -> Table:
    speed = board.speed_to_lead
    rows = (
        ("Leads", str(speed.leads)),
        ("Assigned", str(speed.assigned)),
        ("Avg. time to assignment", duration(speed.avg_assign_seconds)),
        ("Answered", str(speed.responded)),
        ("Avg. time to first reply", duration(speed.avg_respond_seconds)),
        ("Answered within 5 minutes", percent(speed.fast_share)),
    )
    return Table("speed_to_lead", "speed_to_lead", "Speed to lead", ("Figure", "Value"), rows)


def table_csv(table: Table) -> str:
    """The table as CSV, cells that would start a formula escaped (a source is anyone's text)."""
    return csv_lines([table.headers, *table.rows])
