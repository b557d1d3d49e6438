"""Bulk jobs over many locations: each action end to end with per-location results, validation,
resuming after a crash, two workers on one job, the admin flow, and the cross-location health
page's filters and bounded queries."""

from __future__ import annotations

import threading
import time
from typing import Any
from unittest import mock

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test.utils import CaptureQueriesContext

from integrations import tasks
from integrations.bulk import actions
from integrations.bulk.models import BulkJob, BulkJobItem
from integrations.bulk.services import bulk_job_run, bulk_job_start
from integrations.connectors.models import ExternalConnection, ExternalSyncRun
from integrations.connectors.services import connection_create
from integrations.ghl.models import GhlInstallation
from integrations.sync.models import LocationSync, SyncRun
from saas_platform.kernel.errors import ApplicationError, NotFound
from tenants.models import AuditLogEntry, Location
from tests import factories
from tests.conftest import Tenant, World

Kind = BulkJob.Kind
PUSH = {"push_url": "https://93.184.215.14/hook"}
MAPPING = [{"ghl": "email", "external": "email", "policy": "newest"}]


def connected(tenant: Tenant, name: str) -> Location:
    """A location of the tenant with a healthy GHL installation."""
    location = factories.LocationFactory(agency=tenant.agency, name=name)
    factories.GhlInstallationFactory(agency=tenant.agency, location=location)
    return location


def template_on(location: Location, name: str = "Leads hook") -> ExternalConnection:
    return connection_create(
        location=location,
        name=name,
        kind="https",
        config=PUSH,
        credentials={"bearer_token": "pull-token-123"},
        mapping=MAPPING,
        direction="to_external",
        interval_minutes=60,
    )


def start(capture: Any, tenant: Tenant, kind: str, locations: list[Location], **params: Any):  # type: ignore[no-untyped-def]
    with capture(execute=True):
        job = bulk_job_start(
            agency=tenant.agency,
            kind=kind,
            locations=locations,
            params=params,
            acting_user=tenant.owner,
        )
    return BulkJob.objects.for_agency(tenant.agency).get(pk=job.pk)


def results(job: BulkJob) -> dict[str, tuple[str, str]]:
    items = BulkJobItem.objects.for_agency(job.agency).filter(job=job).select_related("location")
    return {item.location.name: (item.status, item.message) for item in items}


# --- each kind, end to end -----------------------------------------------------------------------


def test_apply_connection_copies_the_template_to_each_location(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    a = world.a
    source = connected(a, "A Source")
    template = template_on(source)
    target = connected(a, "A Target")
    unconnected = a.locations[0]  # no GHL installation
    job = start(
        django_capture_on_commit_callbacks,
        a,
        Kind.APPLY_CONNECTION,
        [source, target, unconnected],
        connection_id=template.pk,
    )

    outcome = results(job)
    assert outcome["A Source"][0] == "skipped" and "already has" in outcome["A Source"][1].lower()
    assert outcome["A Target"][0] == "succeeded"
    assert outcome[unconnected.name] == ("failed", actions.NOT_CONNECTED)
    assert (job.status, job.done, job.failed, job.total) == ("partial", 3, 1, 3)
    assert job.params == {"connection_id": template.pk, "connection_name": "Leads hook"}

    copy = ExternalConnection.objects.for_location(target).get()
    for field in ("name", "kind", "config", "mapping", "direction", "match_on", "interval_minutes"):
        assert getattr(copy, field) == getattr(template, field), field
    assert copy.secrets == template.secrets  # same secrets, encrypted again for the copy
    assert copy.owner == a.owner and copy.status == ExternalConnection.Status.ACTIVE
    assert not ExternalConnection.objects.for_location(unconnected).exists()
    assert AuditLogEntry.objects.for_agency(a.agency).filter(action="bulk_job.started").count() == 1


def test_sync_disable_and_enable_leave_paused_connections_to_a_person(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    a = world.a
    first, second = a.locations
    factories.LocationSyncFactory(location=first)  # the second has none yet
    active = factories.ExternalConnectionFactory(location=first)
    paused = factories.ExternalConnectionFactory(
        location=first, status=ExternalConnection.Status.PAUSED
    )

    job = start(django_capture_on_commit_callbacks, a, Kind.SYNC_DISABLE, [first, second])
    assert job.status == "succeeded" and {s for s, _ in results(job).values()} == {"succeeded"}
    syncs = LocationSync.objects.for_agency(a.agency)
    assert syncs.count() == 2 and not syncs.filter(enabled=True).exists()
    active.refresh_from_db()
    paused.refresh_from_db()
    assert active.status == "disabled" and paused.status == "paused"
    assert "1 paused connection(s) left" in results(job)[first.name][1]

    job = start(django_capture_on_commit_callbacks, a, Kind.SYNC_ENABLE, [first, second])
    assert job.status == "succeeded"
    assert not syncs.filter(enabled=False).exists()
    active.refresh_from_db()
    paused.refresh_from_db()
    assert active.status == "active" and paused.status == "paused"

    again = start(django_capture_on_commit_callbacks, a, Kind.SYNC_ENABLE, [first])
    assert results(again)[first.name] == ("skipped", "Already enabled.")
    assert again.status == "succeeded"  # skipped is not a failure


def test_resync_queues_a_reconciliation_unless_one_is_going_on(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    a = world.a
    idle = connected(a, "A Idle")
    busy = connected(a, "A Busy")
    factories.SyncRunFactory(location=busy, kind=SyncRun.Kind.RECONCILE, status="running")
    with mock.patch.object(tasks.sync_run_execute, "apply_async") as enqueue:
        job = start(
            django_capture_on_commit_callbacks, a, Kind.RESYNC, [idle, busy, a.locations[0]]
        )

    outcome = results(job)
    run = SyncRun.objects.for_location(idle).get()
    assert run.kind == "reconcile" and run.status == "queued"
    assert outcome["A Idle"] == ("succeeded", f"Reconciliation queued (sync run {run.pk}).")
    assert outcome["A Busy"] == ("skipped", "A reconciliation is already running.")
    assert outcome[a.locations[0].name][0] == "failed"
    assert enqueue.call_args_list == [mock.call((run.pk,), countdown=0)]
    assert SyncRun.objects.for_location(busy).count() == 1


def test_connections_run_queues_each_active_connection(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    a = world.a
    first, second = a.locations
    one = factories.ExternalConnectionFactory(location=first, name="One")
    two = factories.ExternalConnectionFactory(location=first, name="Two")
    factories.ExternalConnectionFactory(location=first, status="paused")
    factories.ExternalConnectionFactory(location=second, status="disabled")
    with mock.patch.object(tasks.external_connection_run, "delay") as enqueue:
        job = start(django_capture_on_commit_callbacks, a, Kind.CONNECTIONS_RUN, [first, second])

    assert sorted(enqueue.call_args_list) == sorted(
        [mock.call(one.pk, ExternalSyncRun.Trigger.BULK), mock.call(two.pk, "bulk")]
    )
    assert results(job) == {
        first.name: ("succeeded", "2 external sync(s) queued: One, Two."),
        second.name: ("skipped", "No active external connection."),
    }


# --- validation ----------------------------------------------------------------------------------


def test_a_foreign_location_or_connection_is_refused_as_missing_and_nothing_is_created(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    a, b = world.a, world.b
    theirs = factories.ExternalConnectionFactory(location=b.locations[0])
    mine = factories.ExternalConnectionFactory(location=a.locations[0])
    attempts: list[tuple[str, list[Any], dict[str, Any], type[Exception], str]] = [
        (Kind.RESYNC, [a.locations[0], b.locations[0]], {}, NotFound, "do not exist"),
        (Kind.RESYNC, [a.locations[0].pk, 987654321], {}, NotFound, "do not exist"),
        (Kind.RESYNC, [], {}, ApplicationError, "at least one"),
        (Kind.APPLY_CONNECTION, a.locations, {"connection_id": theirs.pk}, NotFound, "not exist"),
        (Kind.APPLY_CONNECTION, a.locations, {}, ApplicationError, "Choose the connection"),
        ("delete_everything", a.locations, {}, ApplicationError, "Unknown bulk action"),
    ]
    for kind, locations, params, error, message in attempts:
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(error) as raised:
            bulk_job_start(
                agency=a.agency,
                kind=kind,
                locations=locations,
                params=params,
                acting_user=a.owner,
            )
        assert message in raised.value.message
    assert not BulkJob.objects.unscoped().exists()
    assert not BulkJobItem.objects.unscoped().exists()
    assert ExternalConnection.objects.unscoped().count() == 2  # nothing copied
    assert mine.pk  # A's own connection would have been accepted


def test_too_many_locations_are_refused(world: World) -> None:
    with (
        mock.patch("integrations.bulk.services.MAX_LOCATIONS", 1),
        pytest.raises(ApplicationError, match="at most 1"),
    ):
        bulk_job_start(
            agency=world.a.agency,
            kind=Kind.RESYNC,
            locations=world.a.locations,
            params={},
            acting_user=None,
        )


# --- resuming, concurrency -----------------------------------------------------------------------


class WorkerKilled(BaseException):
    """Not an Exception: like a SIGKILL, nothing in the runner records it."""


def test_a_killed_worker_resumes_with_the_pending_items_only(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    a = world.a
    template = template_on(connected(a, "A Source"))
    targets = [connected(a, f"A Target {i}") for i in range(3)]
    calls: list[int] = []
    die_on_call = [2]  # the first run dies on its second location
    real = actions.ACTIONS[Kind.APPLY_CONNECTION]

    def recorded(item: BulkJobItem, job: BulkJob) -> str:
        calls.append(item.location_id)
        if len(calls) in die_on_call:
            raise WorkerKilled
        return real(item, job)

    with (
        mock.patch.dict(actions.ACTIONS, {Kind.APPLY_CONNECTION: recorded}),
        pytest.raises(WorkerKilled),
    ):
        start(
            django_capture_on_commit_callbacks,
            a,
            Kind.APPLY_CONNECTION,
            targets,
            connection_id=template.pk,
        )
    job = BulkJob.objects.for_agency(a.agency).get()
    assert (job.status, job.done) == ("running", 1)
    first_done = BulkJobItem.objects.for_agency(a.agency).get(status="succeeded")

    calls.clear()
    die_on_call.clear()
    with (
        mock.patch.dict(actions.ACTIONS, {Kind.APPLY_CONNECTION: recorded}),
        django_capture_on_commit_callbacks(execute=True),
    ):
        resumed = bulk_job_run(job_pk=job.pk)

    assert resumed is not None and (resumed.status, resumed.done, resumed.total) == (
        "succeeded",
        3,
        3,
    )
    assert first_done.location_id not in calls  # done items are not redone
    assert sorted(calls) == sorted(t.pk for t in targets if t.pk != first_done.location_id)
    for target in targets:
        assert ExternalConnection.objects.for_location(target).count() == 1
    assert bulk_job_run(job_pk=job.pk) is None  # a finished job is not run again


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_one_job_process_each_location_once(world: World) -> None:
    a = world.a
    locations = [factories.LocationFactory(agency=a.agency) for _ in range(8)]
    with mock.patch.object(tasks.bulk_job_run, "delay"):  # the two workers below run it
        job = bulk_job_start(
            agency=a.agency,
            kind=Kind.SYNC_DISABLE,
            locations=locations,
            params={},
            acting_user=a.owner,
        )
    seen: list[tuple[int, int]] = []
    real = actions.ACTIONS[Kind.SYNC_DISABLE]

    def slow(item: BulkJobItem, job: BulkJob) -> str:
        seen.append((threading.get_ident(), item.location_id))
        time.sleep(0.05)  # long enough for the other worker to reach the next item
        return real(item, job)

    errors: list[BaseException] = []

    def worker() -> None:
        try:
            bulk_job_run(job_pk=job.pk)
        except BaseException as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connections[DEFAULT_DB_ALIAS].close()

    with mock.patch.dict(actions.ACTIONS, {Kind.SYNC_DISABLE: slow}):
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors, errors

    processed = [location for _, location in seen]
    assert sorted(processed) == sorted(loc.pk for loc in locations)  # each exactly once
    job = BulkJob.objects.for_agency(a.agency).get(pk=job.pk)
    assert (job.status, job.done, job.failed) == ("succeeded", 8, 0)
    audits = AuditLogEntry.objects.for_agency(a.agency).filter(action="location_sync.disabled")
    assert audits.count() == 8


# --- the admin -----------------------------------------------------------------------------------


def test_admin_bulk_actions_start_a_job_and_show_its_results(
    world: World, agency_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    a = world.a
    client = agency_client(a, a.owner)
    selected = [loc.pk for loc in a.locations]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/tenants/location/",
            {"action": "sync_disable", "index": 0, "_selected_action": selected},
        )
    job = BulkJob.objects.for_agency(a.agency).get()
    assert response.status_code == 302
    assert response["Location"] == f"/admin/integrations/bulkjob/{job.pk}/change/"

    page = client.get(response["Location"])
    text = page.content.decode()
    assert page.status_code == 200
    assert "A Location 1" in text and "A Location 2" in text and "Succeeded" in text
    assert '<progress max="100" value="100"' in text
    assert 'http-equiv="refresh"' not in text  # finished: no more refreshing

    listing = client.get(
        "/admin/integrations/bulkjob/?status__exact=succeeded&kind__exact=sync_disable"
    )
    assert listing.status_code == 200 and "Disable the GHL sync" in listing.content.decode()


def test_admin_apply_template_asks_for_the_connection_first(
    world: World, agency_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    a, b = world.a, world.b
    template = template_on(connected(a, "A Source"), name="A template")
    target = connected(a, "A Target")
    theirs = factories.ExternalConnectionFactory(location=b.locations[0], name="B secret hook")
    client = agency_client(a, a.owner)
    chosen = {"action": "apply_connection_template", "_selected_action": [target.pk]}

    page = client.post("/admin/tenants/location/", {**chosen, "index": 0})
    text = page.content.decode()
    assert page.status_code == 200 and "Template connection" in text
    assert "A template" in text and "B secret hook" not in text and "A Target" in text
    assert not BulkJob.objects.for_agency(a.agency).exists()

    refused = client.post(
        "/admin/tenants/location/", {**chosen, "apply": "1", "connection": theirs.pk}
    )
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    assert not BulkJob.objects.unscoped().exists()

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            "/admin/tenants/location/", {**chosen, "apply": "1", "connection": template.pk}
        )
    job = BulkJob.objects.for_agency(a.agency).get()
    assert done.status_code == 302 and done["Location"].endswith(f"/bulkjob/{job.pk}/change/")
    assert ExternalConnection.objects.for_location(target).get().name == "A template"
    assert "A template" in client.get(done["Location"]).content.decode()


def test_a_running_job_page_refreshes_itself(world: World, agency_client: Any) -> None:
    a = world.a
    job = factories.BulkJobFactory(agency=a.agency, status="running", total=2, done=1)
    client = agency_client(a, a.owner)
    for url in ("/admin/integrations/bulkjob/", f"/admin/integrations/bulkjob/{job.pk}/change/"):
        text = client.get(url).content.decode()
        assert 'http-equiv="refresh"' in text and 'value="50"' in text, url


def test_another_agencys_job_is_a_404(world: World, agency_client: Any) -> None:
    theirs = factories.BulkJobItemFactory(
        job=factories.BulkJobFactory(agency=world.b.agency), location=world.b.locations[0]
    ).job
    client = agency_client(world.a, world.a.owner)
    assert client.get(f"/admin/integrations/bulkjob/{theirs.pk}/change/").status_code == 404
    assert "B Location" not in client.get("/admin/integrations/bulkjob/").content.decode()
    staff = agency_client(world.a, world.a.staff)  # agency staff may look, not act
    page = staff.get("/admin/tenants/location/")
    assert page.status_code == 200 and "sync_disable" not in page.content.decode()


# --- the cross-location health page --------------------------------------------------------------


def health_fleet(tenant: Tenant, count: int) -> list[Location]:
    made = []
    for i in range(count):
        location = connected(tenant, f"Fleet {i}")
        factories.LocationSyncFactory(location=location, enabled=i % 2 == 0)
        factories.ExternalConnectionFactory(location=location, consecutive_failures=i % 3)
        factories.ExternalConnectionFactory(location=location, status="paused", last_error="x")
        factories.SyncRunFactory(location=location, status="failed" if i % 2 else "succeeded")
        made.append(location)
    return made


def test_health_page_filters(world: World, agency_client: Any) -> None:
    a = world.a
    calm = connected(a, "Calm place")
    factories.LocationSyncFactory(location=calm)
    factories.ExternalConnectionFactory(location=calm)
    broken = connected(a, "Broken place")
    factories.LocationSyncFactory(location=broken, enabled=False)
    factories.ExternalConnectionFactory(
        location=broken, status="paused", last_error="Refused credentials"
    )
    unsynced = connected(a, "Never synced place")  # installed, no sync settings yet
    connected(world.b, "B Location elsewhere")
    client = agency_client(a, a.owner)

    def shown(query: str) -> set[str]:
        text = client.get(f"/admin/integrations/ghlinstallation/{query}").content.decode()
        assert "B Location" not in text
        return {n for n in ("Calm place", "Broken place", "Never synced place") if n in text}

    everything = client.get("/admin/integrations/ghlinstallation/").content.decode()
    assert "Refused credentials" in everything and "1 (1 paused)" in everything
    assert shown("?failing=yes") == {"Broken place"}
    assert shown("?failing=no") == {"Calm place", "Never synced place"}
    assert shown("?sync=off") == {"Broken place", unsynced.name}
    assert shown("?sync=on") == {"Calm place"}
    GhlInstallation.objects.for_agency(a.agency).filter(location=calm).update(
        status=GhlInstallation.Status.NEEDS_REAUTH
    )
    assert shown("?status__exact=needs_reauth") == {"Calm place"}


def test_health_page_queries_do_not_grow_with_the_locations(
    world: World, agency_client: Any
) -> None:
    def queries_for(tenant: Tenant, count: int) -> int:
        health_fleet(tenant, count)
        client = agency_client(tenant, tenant.owner)
        client.get("/admin/integrations/ghlinstallation/")  # warm the session and caches
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/admin/integrations/ghlinstallation/")
        assert response.status_code == 200
        assert response.content.decode().count("Fleet ") >= count
        return len(captured)

    assert queries_for(world.a, 2) == queries_for(world.b, 10)
