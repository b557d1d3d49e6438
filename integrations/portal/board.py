"""The pipeline board of a location: its open opportunities per stage (figures from the mirror),
and moving one to another stage, which is written to GHL first and mirrored from its answer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, F, Sum, Window
from django.db.models.functions import RowNumber
from django.utils.translation import gettext as _

from integrations.ghl import operations as ops
from integrations.ghl.client import GhlClient
from integrations.ghl.errors import GhlError, GhlNotFound, GhlRateLimited, GhlValidationError
from integrations.ghl.governor import Priority
from integrations.ghl.transport import RetryPolicy
from integrations.mirror.models import MirrorContact, MirrorOpportunity, MirrorPipeline, MirrorUser
from integrations.mirror.writer import mirror_upsert
from integrations.sync.engine import location_installation
from saas_platform.kernel.errors import ApplicationError, NotFound
from tenants.models import Location, User
from tenants.services import audit_record

CARDS_PER_COLUMN = 20
MAX_CARDS_PER_COLUMN = 500
OPEN = "open"
# Someone is waiting on the page: one quick retry of a dropped connection, no sleeping through
# GHL's 429 window (the person can try again in a moment; the message says so).
INTERACTIVE_WRITE = RetryPolicy(max_transient=1, max_throttled=0)


@dataclass(frozen=True)
class Card:
    ghl_id: str
    name: str
    value: Decimal
    contact_name: str
    agent_name: str


@dataclass(frozen=True)
class Column:
    stage_id: str
    name: str
    count: int
    total: Decimal
    cards: list[Card] = field(default_factory=list)
    shown_up_to: int = CARDS_PER_COLUMN

    @property
    def hidden(self) -> int:
        return max(0, self.count - len(self.cards))


def pipelines_for_board(*, location: Location) -> list[MirrorPipeline]:
    return list(MirrorPipeline.objects.for_location(location).order_by("name", "ghl_id"))


def pipeline_default(
    *, location: Location, pipelines: list[MirrorPipeline]
) -> MirrorPipeline | None:
    """The pipeline a board opens on: the busiest one (most open opportunities), by name on ties,
    so a first visit does not land on an empty board."""
    busy = dict(
        MirrorOpportunity.objects.for_location(location)
        .filter(status=OPEN)
        .values_list("pipeline_ghl_id")
        .annotate(open=Count("id"))
        .values_list("pipeline_ghl_id", "open")
    )
    return max(pipelines, key=lambda p: busy.get(p.ghl_id, 0), default=None)


def pipeline_get(*, location: Location, ghl_id: str) -> MirrorPipeline:
    found: MirrorPipeline | None = (
        MirrorPipeline.objects.for_location(location).filter(ghl_id=ghl_id).first()
    )
    if found is None:
        raise NotFound(_("No such pipeline."))
    return found


def pipeline_board(
    *, location: Location, pipeline: MirrorPipeline, shown: dict[str, int] | None = None
) -> list[Column]:
    """One column per stage in board order: the count and value of all its open opportunities,
    and its first cards (most recently moved first). `shown` raises a stage's card cap."""
    shown = shown or {}
    opportunities = MirrorOpportunity.objects.for_location(location).filter(
        pipeline_ghl_id=pipeline.ghl_id, status=OPEN
    )
    figures = {
        row["stage_ghl_id"]: row
        for row in opportunities.values("stage_ghl_id").annotate(
            count=Count("id"), total=Sum("monetary_value")
        )
    }
    caps = {
        stage["id"]: min(MAX_CARDS_PER_COLUMN, max(CARDS_PER_COLUMN, shown.get(stage["id"], 0)))
        for stage in pipeline.stages
    }
    # One query for every column: number the cards within their stage, keep each stage's first.
    ranked = (
        opportunities.filter(stage_ghl_id__in=list(caps))
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("stage_ghl_id")],
                order_by=[
                    F("last_stage_change_at").desc(nulls_last=True),
                    F("name").asc(),
                    F("ghl_id").asc(),
                ],
            )
        )
        .filter(rank__lte=max(caps.values(), default=0))
        .order_by("stage_ghl_id", "rank")
    )
    rows = [row for row in ranked if row.rank <= caps[row.stage_ghl_id]]
    contacts = _contact_names(location, {row.contact_ghl_id for row in rows})
    agents = _agent_names(location, {row.assigned_to for row in rows})
    cards: dict[str, list[Card]] = {}
    for row in rows:
        cards.setdefault(row.stage_ghl_id, []).append(
            Card(
                ghl_id=row.ghl_id,
                name=row.name or _("Untitled opportunity"),
                value=row.monetary_value,
                contact_name=contacts.get(row.contact_ghl_id, ""),
                agent_name=agents.get(row.assigned_to, ""),
            )
        )
    columns = []
    for stage in pipeline.stages:
        stage_figures = figures.get(stage["id"], {})
        columns.append(
            Column(
                stage_id=stage["id"],
                name=stage["name"] or _("Unnamed stage"),
                count=stage_figures.get("count", 0),
                total=stage_figures.get("total") or Decimal("0"),
                cards=cards.get(stage["id"], []),
                shown_up_to=caps[stage["id"]],
            )
        )
    return columns


def _contact_names(location: Location, ids: Iterable[str]) -> dict[str, str]:
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    return {
        c.ghl_id: str(c)
        for c in MirrorContact.objects.for_location(location).filter(ghl_id__in=wanted)
    }


def _agent_names(location: Location, ids: Iterable[str]) -> dict[str, str]:
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    return {
        u.ghl_id: str(u)
        for u in MirrorUser.objects.for_location(location).filter(ghl_id__in=wanted)
    }


def _refusal(exc: GhlError) -> str:
    if isinstance(exc, GhlRateLimited):
        return _(
            "The CRM is busy right now, so the card was not moved. Please try again in a minute."
        )
    if isinstance(exc, GhlNotFound):
        return _("The CRM no longer has this opportunity, so it was not moved.")
    if isinstance(exc, GhlValidationError):
        return _("The CRM refused the move: ") + "; ".join(exc.messages)
    return _("The CRM could not be reached, so the card was not moved. Please try again.")


def opportunity_move(
    *, location: Location, opportunity_ghl_id: str, stage_id: str, acting_user: User | None
) -> MirrorOpportunity:
    """Move an opportunity to another stage of its pipeline: `PUT /opportunities/{id}` at
    interactive priority, then the mirror from GHL's answer (which the mirror refuses if it
    already holds a newer change) and an audit row. On any GHL failure nothing changes here and
    `ApplicationError` carries a message for the person. Another location's opportunity, or a
    stage outside its pipeline, is `NotFound`."""
    opportunity: MirrorOpportunity | None = (
        MirrorOpportunity.objects.for_location(location).filter(ghl_id=opportunity_ghl_id).first()
    )
    if opportunity is None:
        raise NotFound(_("No such opportunity."))
    pipeline = pipeline_get(location=location, ghl_id=opportunity.pipeline_ghl_id)
    stages = {stage["id"]: stage["name"] for stage in pipeline.stages}
    if stage_id not in stages:
        raise NotFound(_("No such stage in this pipeline."))
    if stage_id == opportunity.stage_ghl_id:
        return opportunity
    installation = location_installation(location)
    if installation is None:
        raise ApplicationError(
            _("This business is not connected to its CRM, so nothing was moved.")
        )
    update = ops.opportunity_update(
        opportunity_id=opportunity.ghl_id,
        fields={"pipelineId": pipeline.ghl_id, "pipelineStageId": stage_id},
    )
    try:
        with GhlClient(
            installation, priority=Priority.INTERACTIVE, policy=INTERACTIVE_WRITE
        ) as ghl:
            record = ghl.run(update)
    except GhlError as exc:
        raise ApplicationError(_refusal(exc)) from exc
    old_stage = opportunity.stage_ghl_id
    with transaction.atomic():
        mirror_upsert(location_id=location.pk, kind="opportunity", records=[record])
        opportunity.refresh_from_db()
        audit_record(
            action="opportunity.moved",
            target=opportunity,
            acting_user=acting_user,
            agency=location.agency,
            location=location,
            changes={"stage": (stages.get(old_stage, old_stage), stages[stage_id])},
        )
    return opportunity
