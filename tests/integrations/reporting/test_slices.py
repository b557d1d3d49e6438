"""The minute-by-minute refresh rebuilds only the days a write touched (before and after it), and
ends where a full rebuild would."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.db import transaction

from integrations.mirror.writer import mirror_delete, mirror_upsert
from integrations.reporting.dirty import report_dirty_refresh
from integrations.reporting.models import (
    AppointmentDay,
    LeadDay,
    OutcomeDay,
    PipelineStage,
    ReportDirtyDay,
    ReportLabel,
    RoutingDay,
)
from integrations.reporting.refresh import report_rollups_rebuild
from integrations.reporting.selectors import dashboard_location
from integrations.routing.models import RoutingDecision
from tenants.models import Location
from tests.conftest import World

from .dataset import FROM, TO, Dataset, build

pytestmark = pytest.mark.django_db

LATER = "2030-01-01T00:00:00Z"  # newer than the dataset's rows: the writer takes it


def rollups(location: Location) -> dict[str, list[tuple[Any, ...]]]:
    """Every rollup row of the location, without ids, sorted."""
    found = {}
    for model in (LeadDay, PipelineStage, OutcomeDay, AppointmentDay, RoutingDay, ReportLabel):
        fields = [f.name for f in model._meta.fields if f.name not in ("id", "location")]
        found[model.__name__] = sorted(
            model.objects.for_location(location).values_list(*fields), key=repr
        )
    return found


def dirty_days(location: Location) -> set[date]:
    return set(ReportDirtyDay.objects.for_location(location).values_list("day", flat=True))


def test_a_deal_reopened_leaves_the_day_it_was_won(world: World) -> None:
    data: Dataset = build(world)
    o3 = {
        "id": "o3", "name": "Deal", "contactId": "c3", "pipelineId": "p1",
        "pipelineStageId": "s2", "status": "lost", "assignedTo": "u1", "source": "Facebook",
        "monetaryValue": 4000, "createdAt": "2026-03-01T19:00:00Z",
        "lastStatusChangeAt": "2026-03-06T12:00:00Z", "updatedAt": LATER,
    }  # fmt: skip
    mirror_upsert(location_id=data.a1.pk, kind="opportunity", records=[o3])
    # Created the 1st (Dubai); won the 4th before, lost the 6th now.
    assert dirty_days(data.a1) == {date(2026, 3, 1), date(2026, 3, 4), date(2026, 3, 6)}
    assert not dirty_days(data.a2)
    assert report_dirty_refresh() == 1
    assert not dirty_days(data.a1)
    win = dashboard_location(location=data.a1, date_from=FROM, date_to=TO).win_rate
    assert (win.won, win.lost, win.lost_value) == (0, 2, 4700)


def test_the_refresh_of_changed_days_ends_where_a_full_rebuild_does(world: World) -> None:
    data: Dataset = build(world)
    a1 = data.a1.pk
    before = rollups(data.a1)
    with transaction.atomic():
        # A lead deleted (its day loses it), a reply to c2, c4 routed, a booking moved a week.
        mirror_delete(
            location_id=a1, kind="contact", ghl_ids=["c1"], deleted_at=datetime.now(tz=UTC)
        )
        mirror_upsert(location_id=a1, kind="message", records=[{
            "id": "m-new", "contactId": "c2", "direction": "outbound", "messageType": "TYPE_SMS",
            "dateAdded": "2026-03-01T21:35:00Z",
        }])  # fmt: skip
        RoutingDecision.objects.create(
            location_id=a1, contact_ghl_id="c4", status="assigned", agent_ghl_id="u2",
            created_at=datetime(2026, 3, 3, 10, 1, tzinfo=UTC),
        )  # fmt: skip
        mirror_upsert(location_id=a1, kind="appointment", records=[{
            "id": "a3", "assignedUserId": "u2", "appointmentStatus": "confirmed",
            "startTime": "2026-03-11T10:00:00Z", "dateUpdated": LATER,
        }])  # fmt: skip
        mirror_upsert(
            location_id=a1,
            kind="user",
            records=[{"id": "u2", "firstName": "Bilal", "lastName": "Khan-Said"}],
            changed_at=datetime(2030, 1, 1, tzinfo=UTC),  # users carry no change time
        )
    assert dirty_days(data.a1) == {
        date(2026, 3, 2),  # c1's day, and c2's (the reply changes its speed to lead)
        date(2026, 3, 3),  # c4's day and its decision's
        date(2026, 3, 4),  # a3's old day
        date(2026, 3, 11),  # a3's new day
    }
    report_dirty_refresh()
    refreshed = rollups(data.a1)
    assert refreshed != before
    report_rollups_rebuild(location_id=a1)
    assert rollups(data.a1) == refreshed

    board = dashboard_location(location=data.a1, date_from=FROM, date_to=TO)
    assert board.total_leads == 3
    assert board.speed_to_lead.responded == 2  # c2 now, c3; c1 is gone
    assert board.appointments.booked == 2
    assert "Bilal Khan-Said" in {a.name for a in board.agents}


def test_a_write_rolled_back_leaves_no_mark(world: World) -> None:
    data: Dataset = build(world)
    with pytest.raises(RuntimeError), transaction.atomic():
        mirror_delete(
            location_id=data.a1.pk, kind="contact", ghl_ids=["c1"], deleted_at=datetime.now(UTC)
        )
        raise RuntimeError("the caller fails after the write")
    assert not dirty_days(data.a1)
    assert report_dirty_refresh() == 0


def test_a_renamed_agent_refreshes_the_labels_alone(world: World) -> None:
    data: Dataset = build(world)
    leads_before = rollups(data.a1)["LeadDay"]
    mirror_upsert(
        location_id=data.a1.pk,
        kind="user",
        records=[{"id": "u1", "firstName": "Amal", "lastName": "Nasser"}],
        changed_at=datetime(2030, 1, 1, tzinfo=UTC),
    )
    assert not dirty_days(data.a1)  # no day changes, but the location is marked
    assert report_dirty_refresh() == 1
    board = dashboard_location(location=data.a1, date_from=FROM, date_to=TO)
    assert board.agents[0].name == "Amal Nasser"
    assert rollups(data.a1)["LeadDay"] == leads_before
