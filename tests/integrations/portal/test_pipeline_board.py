"""The pipeline board: figures per stage from the mirror, capped columns, and moving a card,
which GHL (the stand-in) must see before the mirror changes."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import httpx
import pytest
from django.test import Client

from integrations.ghl.models import GhlCallLog
from integrations.mirror.models import MirrorOpportunity, MirrorPipeline
from integrations.portal import board
from sandbox.ghl.testing import StandIn
from tenants.models import AuditLogEntry, Location
from tests import factories
from tests.conftest import World
from tests.integrations.conftest import DUBAI

pytestmark = pytest.mark.django_db

STAGES = [
    {"id": "st-new", "name": "New", "position": 0},
    {"id": "st-won", "name": "Negotiation", "position": 1},
    {"id": "st-empty", "name": "Empty", "position": 2},
]


def _pipeline(location: Location, ghl_id: str = "pipe-1", name: str = "Sales") -> MirrorPipeline:
    return factories.MirrorPipelineFactory(
        location=location, ghl_id=ghl_id, name=name, stages=STAGES
    )


def _opportunity(location: Location, stage: str, value: str, **fields: Any) -> Any:
    return factories.MirrorOpportunityFactory(
        location=location,
        pipeline_ghl_id=fields.pop("pipeline", "pipe-1"),
        stage_ghl_id=stage,
        monetary_value=Decimal(value),
        **fields,
    )


def test_columns_count_and_total_only_the_open_opportunities_of_the_pipeline(
    world: World,
) -> None:
    location = world.a.locations[0]
    pipeline = _pipeline(location)
    contact = factories.MirrorContactFactory(
        location=location, ghl_id="c-1", first_name="Rana", last_name="Aziz"
    )
    factories.MirrorUserFactory(location=location, ghl_id="u-1", first_name="Omar", last_name="")
    _opportunity(
        location,
        "st-new",
        "100.50",
        name="Kitchen",
        contact_ghl_id=contact.ghl_id,
        assigned_to="u-1",
    )
    _opportunity(location, "st-new", "200")
    _opportunity(location, "st-won", "1000")
    _opportunity(location, "st-won", "5", status="won")  # closed: not on the board
    _opportunity(location, "st-new", "7", pipeline="other")  # another pipeline
    _opportunity(world.a.locations[1], "st-new", "9")  # another location

    columns = board.pipeline_board(location=location, pipeline=pipeline)

    assert [(c.name, c.count, c.total) for c in columns] == [
        ("New", 2, Decimal("300.50")),
        ("Negotiation", 1, Decimal("1000")),
        ("Empty", 0, Decimal("0")),
    ]
    kitchen = next(card for card in columns[0].cards if card.name == "Kitchen")
    assert (kitchen.contact_name, kitchen.agent_name) == ("Rana Aziz", "Omar")


def test_a_long_column_is_capped_and_shows_more_on_request(world: World) -> None:
    location = world.a.locations[0]
    pipeline = _pipeline(location)
    for n in range(board.CARDS_PER_COLUMN + 5):
        _opportunity(location, "st-new", "1", name=f"Deal {n:02d}")

    capped = board.pipeline_board(location=location, pipeline=pipeline)[0]
    assert (len(capped.cards), capped.count, capped.hidden) == (board.CARDS_PER_COLUMN, 25, 5)
    more = board.pipeline_board(
        location=location, pipeline=pipeline, shown={"st-new": board.CARDS_PER_COLUMN * 2}
    )[0]
    assert (len(more.cards), more.hidden) == (25, 0)


def test_the_board_page_shows_the_chosen_pipeline(world: World, agency_client: Any) -> None:
    location = world.a.locations[1]
    _pipeline(location)
    _pipeline(location, ghl_id="pipe-2", name="Renewals")
    _opportunity(location, "st-new", "42", name="Roof repair")
    _opportunity(location, "st-new", "3", name="Gutter", pipeline="pipe-2")
    client = agency_client(world.a, world.a.client_member)
    url = f"/app/l/{location.pk}/pipeline/"

    page = client.get(url, {"pipeline": "pipe-1"}).content.decode()
    assert "Roof repair" in page and "Gutter" not in page
    assert 'name="stage"' in page and "Move “Roof repair” to" in page
    other = client.get(url, {"pipeline": "pipe-2"}).content.decode()
    assert "Gutter" in other and "Roof repair" not in other
    assert client.get(url, {"pipeline": "not-ours"}).status_code == 404
    _opportunity(location, "st-won", "8", name="Gutter 2", pipeline="pipe-2")
    busiest = client.get(url).content.decode()  # no choice yet: the busiest pipeline
    assert "Gutter 2" in busiest and "Roof repair" not in busiest


def test_the_board_page_without_pipelines_says_so(world: World, agency_client: Any) -> None:
    client = agency_client(world.a, world.a.client_member)
    page = client.get(f"/app/l/{world.a.locations[1].pk}/pipeline/").content.decode()
    assert "No pipelines yet" in page


# --- moving a card through GHL (the stand-in) ----------------------------------------------------


def _ghl_opportunity(ghl: StandIn, opportunity_id: str) -> dict[str, Any]:
    token = ghl.mint_token(location_id=DUBAI)["access_token"]
    path = f"/opportunities/{opportunity_id}"
    answer = httpx.get(ghl.base_url + path, headers=ghl.api_headers(token, path), timeout=30)
    answer.raise_for_status()
    found: dict[str, Any] = answer.json()["opportunity"]
    return found


def _movable(location: Location) -> tuple[MirrorOpportunity, str]:
    """An open mirrored opportunity and a stage of its pipeline it is not in."""
    for opportunity in MirrorOpportunity.objects.for_location(location).filter(status="open"):
        pipeline = MirrorPipeline.objects.for_location(location).get(
            ghl_id=opportunity.pipeline_ghl_id
        )
        others = [s["id"] for s in pipeline.stages if s["id"] != opportunity.stage_ghl_id]
        if others:
            return opportunity, others[0]
    raise AssertionError("the demo location has no open opportunity to move")


def _move_url(location: Location, opportunity_id: str) -> str:
    return f"/app/l/{location.pk}/pipeline/opportunities/{opportunity_id}/move/"


def test_moving_a_card_writes_the_stage_to_ghl_then_the_mirror(
    dubai: Location, ghl: StandIn, dubai_member: Client
) -> None:
    opportunity, target = _movable(dubai)

    answer = dubai_member.post(_move_url(dubai, opportunity.ghl_id), {"stage": target})

    assert answer.status_code == 302
    assert _ghl_opportunity(ghl, opportunity.ghl_id)["pipelineStageId"] == target
    opportunity.refresh_from_db()
    assert opportunity.stage_ghl_id == target
    entry = AuditLogEntry.objects.for_agency(dubai.agency).get(action="opportunity.moved")
    assert entry.target_id == str(opportunity.pk)
    assert "Moved" in dubai_member.get(answer["Location"]).content.decode()
    [call] = GhlCallLog.objects.for_agency(dubai.agency).filter(method="PUT")
    assert (call.path, call.priority, call.status) == (
        f"/opportunities/{opportunity.ghl_id}",
        "interactive",
        200,
    )


def test_an_htmx_move_answers_with_the_board(
    dubai: Location, ghl: StandIn, dubai_member: Client
) -> None:
    opportunity, target = _movable(dubai)
    answer = dubai_member.post(
        _move_url(dubai, opportunity.ghl_id), {"stage": target}, HTTP_HX_REQUEST="true"
    )
    assert answer.status_code == 200
    text = answer.content.decode()
    assert 'id="board"' in text and "Moved" in text
    assert _ghl_opportunity(ghl, opportunity.ghl_id)["pipelineStageId"] == target


def test_a_stage_of_another_pipeline_or_a_foreign_opportunity_is_not_found(
    dubai: Location, ghl: StandIn, dubai_member: Client, world: World
) -> None:
    opportunity, _target = _movable(dubai)
    before = opportunity.stage_ghl_id
    foreign = _opportunity(world.a.locations[0], "st-new", "1")
    _pipeline(world.a.locations[0])

    assert (
        dubai_member.post(_move_url(dubai, opportunity.ghl_id), {"stage": "st-won"}).status_code
        == 404
    )
    assert (
        dubai_member.post(_move_url(dubai, foreign.ghl_id), {"stage": "st-won"}).status_code == 404
    )
    assert (
        dubai_member.post(_move_url(dubai, "NoSuchOpportunity1"), {"stage": before}).status_code
        == 404
    )
    assert _ghl_opportunity(ghl, opportunity.ghl_id)["pipelineStageId"] == before
    assert not [r for r in ghl.requests(DUBAI) if r["method"] == "PUT"]


def _assert_unchanged(dubai: Location, opportunity: MirrorOpportunity, before: Any) -> None:
    opportunity.refresh_from_db()
    assert (opportunity.stage_ghl_id, opportunity.ghl_updated_at) == before
    moves = AuditLogEntry.objects.for_agency(dubai.agency).filter(action="opportunity.moved")
    assert not moves.exists()


def test_a_stage_ghl_no_longer_has_is_refused_with_its_reason_and_nothing_changes(
    dubai: Location, ghl: StandIn, dubai_member: Client
) -> None:
    """The mirror still lists a stage GHL deleted: GHL answers 400 and the board says why."""
    opportunity, _target = _movable(dubai)
    before = (opportunity.stage_ghl_id, opportunity.ghl_updated_at)
    pipeline = MirrorPipeline.objects.for_location(dubai).get(ghl_id=opportunity.pipeline_ghl_id)
    pipeline.stages = [*pipeline.stages, {"id": "deleted-in-ghl", "name": "Gone", "position": 99}]
    pipeline.save(update_fields=["stages"])

    url = _move_url(dubai, opportunity.ghl_id)
    answer = dubai_member.post(url, {"stage": "deleted-in-ghl"}, follow=True)

    assert "The CRM refused the move: Pipeline stage not found" in answer.content.decode()
    _assert_unchanged(dubai, opportunity, before)
    assert _ghl_opportunity(ghl, opportunity.ghl_id)["pipelineStageId"] == before[0]


def test_a_429_from_ghl_is_a_try_again_message_and_nothing_changes(
    dubai: Location, ghl: StandIn, dubai_member: Client
) -> None:
    opportunity, target = _movable(dubai)
    before = (opportunity.stage_ghl_id, opportunity.ghl_updated_at)
    ghl.set_config(rate_limits={"burst_max": 1, "burst_window_s": 1.0})
    time.sleep(1.1)  # the install's backfill requests leave the window
    _ghl_opportunity(ghl, opportunity.ghl_id)  # someone else used the window's only request

    answer = dubai_member.post(
        _move_url(dubai, opportunity.ghl_id), {"stage": target}, HTTP_HX_REQUEST="true"
    )

    assert answer.status_code == 200
    assert "busy right now" in answer.content.decode()
    _assert_unchanged(dubai, opportunity, before)
    time.sleep(1.1)
    assert _ghl_opportunity(ghl, opportunity.ghl_id)["pipelineStageId"] == before[0]


def test_an_older_answer_from_ghl_does_not_overwrite_a_newer_mirror_row(
    dubai: Location, ghl: StandIn, dubai_member: Client
) -> None:
    """The mirror keeps its newest-wins rule: a webhook newer than GHL's answer stays."""
    from datetime import timedelta

    from django.utils import timezone

    opportunity, target = _movable(dubai)
    future = timezone.now() + timedelta(days=1)
    MirrorOpportunity.objects.for_location(dubai).filter(pk=opportunity.pk).update(
        ghl_updated_at=future
    )
    dubai_member.post(_move_url(dubai, opportunity.ghl_id), {"stage": target})
    assert _ghl_opportunity(ghl, opportunity.ghl_id)["pipelineStageId"] == target
    opportunity.refresh_from_db()
    assert opportunity.ghl_updated_at == future and opportunity.stage_ghl_id != target


def test_show_more_on_the_page_opens_one_column_further(world: World, agency_client: Any) -> None:
    location = world.a.locations[1]
    _pipeline(location)
    for n in range(board.CARDS_PER_COLUMN + 3):
        _opportunity(location, "st-new", "1", name=f"Lead {n:02d}")
    client = agency_client(world.a, world.a.client_member)
    url = f"/app/l/{location.pk}/pipeline/"

    first = client.get(url).content.decode()
    assert first.count('class="board-card"') == board.CARDS_PER_COLUMN
    assert (
        "Show more (3 not shown)" in first
        and f"more=st-new&amp;n={2 * board.CARDS_PER_COLUMN}" in first
    )
    more = client.get(url, {"pipeline": "pipe-1", "more": "st-new", "n": "40"}).content.decode()
    assert more.count('class="board-card"') == board.CARDS_PER_COLUMN + 3
    assert "Show more" not in more
    assert client.get(url, {"more": "st-new", "n": "lots"}).status_code == 200
