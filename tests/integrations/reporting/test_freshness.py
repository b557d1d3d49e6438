"""The rollups follow the mirror: a write marks the location, the periodic task rebuilds it."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from integrations.inbox.models import InboundEvent
from integrations.inbox.services import inbound_event_process
from integrations.mirror.writer import mirror_upsert
from integrations.reporting.dirty import report_dirty_refresh, report_mark_dirty
from integrations.reporting.models import LeadDay, ReportDirty
from integrations.reporting.selectors import dashboard_location
from integrations.routing.models import RoutingDecision
from integrations.tasks import reporting_refresh_dirty
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 2)


def leads(location: Any) -> int:
    return dashboard_location(location=location, date_from=DAY, date_to=DAY).total_leads


def test_a_sync_page_marks_the_location_and_the_task_rebuilds_it(world: World) -> None:
    location = world.a.locations[0]
    other = world.a.locations[1]
    page = [
        {"id": f"sync{i}", "locationId": location.ghl_location_id, "firstName": "Lead",
         "source": "Website", "dateAdded": "2026-03-02T10:00:00Z"}
        for i in range(3)
    ]  # fmt: skip
    mirror_upsert(location_id=location.pk, kind="contact", records=page)
    assert ReportDirty.objects.for_location(location).exists()
    assert not ReportDirty.objects.for_location(other).exists()
    assert leads(location) == 0  # not rebuilt yet

    assert reporting_refresh_dirty() == 1
    assert leads(location) == 3
    assert not ReportDirty.objects.for_location(location).exists()
    # Writing the same page again changes nothing, so nothing is marked.
    mirror_upsert(location_id=location.pk, kind="contact", records=page)
    assert report_dirty_refresh() == 0


def test_a_webhook_event_and_a_routing_decision_refresh_the_figures(world: World) -> None:
    location = world.a.locations[0]
    body = json.dumps(
        {
            "type": "ContactCreate",
            "locationId": location.ghl_location_id,
            "id": "hook1",
            "source": "Ads",
            "dateAdded": "2026-03-02T09:00:00Z",
        }
    )
    event = factories.InboundEventFactory(
        source=InboundEvent.Source.GHL,
        event_type="ContactCreate",
        location_id=location.ghl_location_id,
        body=body.encode(),
    )
    inbound_event_process(event_pk=event.pk)
    report_dirty_refresh()
    board = dashboard_location(location=location, date_from=DAY, date_to=DAY)
    assert [(s.source, s.leads) for s in board.leads_by_source] == [("Ads", 1)]
    assert board.speed_to_lead.assigned == 0

    with transaction.atomic():
        RoutingDecision.objects.create(
            location=location,
            contact_ghl_id="hook1",
            status="assigned",
            agent_ghl_id="agent1",
            created_at=datetime(2026, 3, 2, 9, 1, tzinfo=UTC),
        )
    assert report_dirty_refresh() == 1
    speed = dashboard_location(location=location, date_from=DAY, date_to=DAY).speed_to_lead
    assert (speed.assigned, speed.avg_assign_seconds) == (1, 60)


def test_a_failed_write_marks_nothing(world: World) -> None:
    location = world.a.locations[0]
    with pytest.raises(RuntimeError), transaction.atomic():
        mirror_upsert(
            location_id=location.pk,
            kind="contact",
            records=[{"id": "gone", "dateAdded": "2026-03-02T10:00:00Z"}],
        )
        raise RuntimeError("the caller's transaction fails after the write")
    assert not ReportDirty.objects.for_location(location).exists()


def test_the_management_command_rebuilds_named_locations(world: World) -> None:
    location = world.a.locations[0]
    factories.MirrorContactFactory(location=location, date_added="2026-03-02T10:00:00Z")
    assert not LeadDay.objects.for_location(location).exists()
    call_command("reporting_rebuild", location.ghl_location_id)
    assert leads(location) == 1


@pytest.mark.django_db(transaction=True)
def test_a_refresh_waits_for_a_writer_still_in_its_transaction(world: World) -> None:
    """The claim blocks on the writer's lock of the location's mark, so the rebuild that follows
    sees the writer's rows instead of losing them."""
    location = world.a.locations[0]
    report_mark_dirty(location_id=location.pk)  # an earlier change, committed
    record = {"id": "slow1", "source": "Ads", "dateAdded": "2026-03-02T10:00:00Z"}
    written, release = threading.Event(), threading.Event()
    refreshed: list[int] = []

    def write() -> None:
        try:
            with transaction.atomic():
                mirror_upsert(location_id=location.pk, kind="contact", records=[record])
                written.set()
                release.wait(10)
        finally:
            connection.close()

    def refresh() -> None:
        try:
            refreshed.append(report_dirty_refresh())
        finally:
            connection.close()

    writer = threading.Thread(target=write)
    writer.start()
    assert written.wait(10)
    refresher = threading.Thread(target=refresh)
    refresher.start()
    refresher.join(0.5)
    assert refresher.is_alive()  # its claim waits for the writer's transaction
    release.set()
    writer.join(10)
    refresher.join(10)
    assert refreshed == [1]
    assert leads(location) == 1
    assert not ReportDirty.objects.for_location(location).exists()
