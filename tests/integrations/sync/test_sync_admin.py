"""The agency admin's sync screens: settings with validation, "sync now", live run progress,
the agency's own events with replay."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.inbox.models import InboundEvent
from integrations.sync.models import LocationSync, SyncRun
from tests import factories
from tests.conftest import AgencyClient, World

pytestmark = pytest.mark.django_db


def test_sync_settings_are_validated(world: World, agency_client: AgencyClient) -> None:
    sync = factories.LocationSyncFactory(location=world.a.locations[0])
    client = agency_client(world.a, world.a.owner)
    url = f"/admin/integrations/locationsync/{sync.pk}/change/"
    response = client.post(url, {"enabled": "on", "interval_minutes": 1})
    assert response.status_code == 200
    assert "greater than or equal to 5" in response.content.decode()
    assert client.post(url, {"enabled": "on", "interval_minutes": 60}).status_code == 302
    assert LocationSync.objects.for_location(world.a.locations[0]).get().interval_minutes == 60


def test_sync_now_queues_a_run_for_each_selected_location(
    world: World, agency_client: AgencyClient, django_capture_on_commit_callbacks: Any
) -> None:
    syncs = [factories.LocationSyncFactory(location=loc) for loc in world.a.locations]
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = agency_client(world.a, world.a.admin).post(
            "/admin/integrations/locationsync/",
            {"action": "sync_now", "_selected_action": [s.pk for s in syncs]},
            follow=True,
        )
    assert "2 sync runs queued" in response.content.decode()
    runs = SyncRun.objects.for_agency(world.a.agency).filter(kind="incremental", status="queued")
    assert runs.count() == 2 and len(queued) == 2


def test_the_run_list_refreshes_itself_while_work_is_running(
    world: World, agency_client: AgencyClient
) -> None:
    client = agency_client(world.a, world.a.staff)
    factories.SyncRunFactory(location=world.a.locations[0], status="succeeded")
    assert 'http-equiv="refresh"' not in client.get("/admin/integrations/syncrun/").content.decode()
    factories.SyncRunFactory(
        location=world.a.locations[0], status="running", rows=250, total_estimate=1000
    )
    page = client.get("/admin/integrations/syncrun/").content.decode()
    assert 'http-equiv="refresh"' in page and 'value="25"' in page


def test_the_agency_sees_and_replays_its_own_dead_events_only(
    world: World, agency_client: AgencyClient
) -> None:
    mine = factories.InboundEventFactory(
        event_type="TestOnlyEvent",  # nothing handles it: a replay just succeeds
        location_id=world.a.locations[0].ghl_location_id,
        status="dead",
        attempts=6,
        last_error="boom",
    )
    theirs = factories.InboundEventFactory(
        location_id=world.b.locations[0].ghl_location_id, status="dead"
    )
    client = agency_client(world.a, world.a.owner)
    listing = client.get("/admin/integrations/inboundevent/", {"status": "dead"}).content.decode()
    assert mine.event_id in listing and theirs.event_id not in listing
    client.post(
        "/admin/integrations/inboundevent/",
        {"action": "replay", "_selected_action": [mine.pk]},
    )
    mine.refresh_from_db()
    assert mine.status == InboundEvent.Status.SUCCEEDED  # no handler for this test type
    foreign = client.post(
        "/admin/integrations/inboundevent/",
        {"action": "replay", "_selected_action": [theirs.pk]},
    )
    assert foreign.status_code == 302
    theirs.refresh_from_db()
    assert theirs.status == "dead"
