"""What a dashboard shows, as typed values: the selectors answer these, the pages, the CSV
export and the e-mail report format them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

# The report-set keys an industry pack chooses from, in page order.
SECTIONS = (
    "leads_by_source",
    "pipeline_value_by_stage",
    "win_rate",
    "speed_to_lead",
    "appointments",
    "agent_leaderboard",
    "routing_distribution",
    "pnl",
)
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Filters:
    location_id: int | None = None  # the agency dashboard only
    source: str = ""
    pipeline: str = ""
    agent: str = ""

    def active(self) -> bool:
        return bool(self.location_id or self.source or self.pipeline or self.agent)


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class DayLeads:
    day: date
    leads: int


@dataclass(frozen=True)
class SourceLeads:
    source: str
    leads: int


@dataclass(frozen=True)
class StageValue:
    pipeline: str
    stage: str
    opportunities: int
    value: Decimal


@dataclass(frozen=True)
class WinRate:
    opened: int
    won: int
    lost: int
    won_value: Decimal
    lost_value: Decimal

    @property
    def rate(self) -> float | None:
        closed = self.won + self.lost
        return self.won / closed if closed else None


@dataclass(frozen=True)
class SpeedToLead:
    leads: int
    assigned: int
    assign_seconds: int
    responded: int
    respond_seconds: int
    responded_5m: int

    @property
    def avg_assign_seconds(self) -> float | None:
        return self.assign_seconds / self.assigned if self.assigned else None

    @property
    def avg_respond_seconds(self) -> float | None:
        return self.respond_seconds / self.responded if self.responded else None

    @property
    def fast_share(self) -> float | None:
        """Share of the period's leads answered within five minutes."""
        return self.responded_5m / self.leads if self.leads else None


@dataclass(frozen=True)
class DayAppointments:
    day: date
    booked: int
    showed: int
    no_show: int
    cancelled: int


@dataclass(frozen=True)
class Appointments:
    booked: int
    showed: int
    no_show: int
    cancelled: int
    by_day: tuple[DayAppointments, ...]

    @property
    def show_rate(self) -> float | None:
        attended_or_not = self.showed + self.no_show
        return self.showed / attended_or_not if attended_or_not else None


@dataclass(frozen=True)
class AgentRow:
    agent: str
    name: str
    leads: int
    responded: int
    respond_seconds: int
    won: int
    won_value: Decimal
    appointments: int
    showed: int

    @property
    def avg_respond_seconds(self) -> float | None:
        return self.respond_seconds / self.responded if self.responded else None


@dataclass(frozen=True)
class RoutingRow:
    agent: str
    name: str
    assigned: int
    fallback: int
    unroutable: int

    @property
    def total(self) -> int:
        return self.assigned + self.fallback + self.unroutable


@dataclass(frozen=True)
class PnlRow:
    location_id: int
    location: str
    revenue: Decimal | None  # None until billing reports revenue for the location
    won_value: Decimal
    open_value: Decimal


@dataclass(frozen=True)
class Dashboard:
    scope: str  # "location" | "agency"
    title: str
    date_from: date
    date_to: date
    filters: Filters
    leads_by_day: tuple[DayLeads, ...]
    leads_by_source: tuple[SourceLeads, ...]
    pipeline_by_stage: tuple[StageValue, ...]
    win_rate: WinRate
    speed_to_lead: SpeedToLead
    appointments: Appointments
    agents: tuple[AgentRow, ...]
    routing: tuple[RoutingRow, ...]
    pnl: tuple[PnlRow, ...]
    revenue_connected: bool
    sources: tuple[Choice, ...] = field(default=())
    pipelines: tuple[Choice, ...] = field(default=())
    agent_choices: tuple[Choice, ...] = field(default=())
    locations: tuple[Choice, ...] = field(default=())

    @property
    def total_leads(self) -> int:
        return sum(row.leads for row in self.leads_by_source)
