"""The sync of a location's GHL data into the mirror: backfill, incremental, reconciliation,
resumability, cancellation on uninstall, and the command with its progress bar."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr
from datetime import timedelta
from io import StringIO
from typing import Any

import httpx
import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection as db
from django.utils import timezone

from integrations.ghl.lifecycle import lifecycle_event_apply
from integrations.mirror.models import (
    MirrorAppointment,
    MirrorContact,
    MirrorOpportunity,
    MirrorPipeline,
    MirrorTombstone,
    MirrorUser,
)
from integrations.sync.engine import (
    RUN_LOCK_NAMESPACE,
    sync_run_execute,
    sync_run_start,
    sync_runs_stalled_requeue,
)
from integrations.sync.models import LocationSync, SyncCursor, SyncRun
from saas_platform.kernel.errors import ApplicationError
from sandbox.ghl.testing import StandIn
from tenants.models import Location
from tests.integrations.conftest import DUBAI, Installer

pytestmark = pytest.mark.django_db


def api(ghl: StandIn, method: str, path: str, **kw: Any) -> Any:
    token = ghl.mint_token(location_id=DUBAI)["access_token"]
    response = httpx.request(
        method, ghl.base_url + path, headers=ghl.api_headers(token, path), timeout=30, **kw
    )
    response.raise_for_status()
    return response.json()


def count_in_ghl(ghl: StandIn) -> dict[str, int]:
    contacts = api(ghl, "POST", "/contacts/search", json={"locationId": DUBAI, "pageLimit": 1})
    opportunities = api(
        ghl, "POST", "/opportunities/search", json={"locationId": DUBAI, "limit": 1}
    )
    users = api(ghl, "GET", "/users/", params={"locationId": DUBAI})
    return {
        "contacts": contacts["total"],
        "opportunities": opportunities["total"],
        "users": len(users["users"]),
    }


@pytest.fixture
def dubai(install: Installer) -> Location:
    """Dubai installed; its automatic backfill ran during the install (tasks run at once)."""
    installation = install(location_id=DUBAI)
    assert installation.location is not None
    return installation.location


def run_now(location: Location, kind: str) -> SyncRun:
    """Queue a run and do it here, as the worker would."""
    run = sync_run_start(location=location, kind=kind)
    sync_run_execute(run_pk=run.pk)
    run.refresh_from_db()
    return run


def run_of(location: Location, kind: str) -> SyncRun:
    run: SyncRun = SyncRun.objects.for_location(location).filter(kind=kind).latest("id")
    return run


def test_installing_a_location_backfills_it(dubai: Location, ghl: StandIn) -> None:
    run = run_of(dubai, "backfill")
    assert run.status == "succeeded" and run.percent == 100
    expected = count_in_ghl(ghl)
    assert MirrorContact.objects.for_location(dubai).count() == expected["contacts"] >= 300
    assert MirrorOpportunity.objects.for_location(dubai).count() == expected["opportunities"]
    assert MirrorUser.objects.for_location(dubai).count() == expected["users"] >= 12
    assert MirrorPipeline.objects.for_location(dubai).exists()
    assert MirrorAppointment.objects.for_location(dubai).exists()
    assert run.rows >= expected["contacts"] + expected["opportunities"]
    assert run.requests >= run.pages
    assert LocationSync.objects.for_location(dubai).get().last_backfill_at is not None
    sample = MirrorContact.objects.for_location(dubai).exclude(email="").first()
    assert sample is not None
    contact = api(ghl, "GET", f"/contacts/{sample.ghl_id}")["contact"]
    assert (sample.email, sample.first_name) == (contact["email"], contact["firstName"])


def test_an_idle_incremental_pass_costs_one_request(dubai: Location, ghl: StandIn) -> None:
    before = ghl.counters(DUBAI)["requests"]
    run = run_now(dubai, "incremental")
    assert run.status == "succeeded" and run.rows == 0
    assert ghl.counters(DUBAI)["requests"] - before == 1 == run.requests


def test_an_incremental_pass_reads_only_what_changed(dubai: Location, ghl: StandIn) -> None:
    changed = MirrorContact.objects.for_location(dubai).order_by("ghl_id")[:3]
    for contact in changed:
        api(ghl, "PUT", f"/contacts/{contact.ghl_id}", json={"companyName": "Changed LLC"})
    run = run_now(dubai, "incremental")
    assert run.status == "succeeded"
    assert 3 <= run.rows < 20  # the changes (and a little overlap), not the whole location
    assert run.details["contacts"]["updated"] == 3
    names = set(
        MirrorContact.objects.for_location(dubai)
        .filter(ghl_id__in=[c.ghl_id for c in changed])
        .values_list("company_name", flat=True)
    )
    assert names == {"Changed LLC"}


def test_a_reconciliation_finds_what_webhooks_missed(dubai: Location, ghl: StandIn) -> None:
    gone = MirrorContact.objects.for_location(dubai).order_by("ghl_id").first()
    assert gone is not None
    api(ghl, "DELETE", f"/contacts/{gone.ghl_id}")  # its webhook goes nowhere in tests
    new = api(ghl, "POST", "/contacts/", json={"locationId": DUBAI, "firstName": "Late"})
    run = run_now(dubai, "reconcile")
    assert run.status == "succeeded"
    assert run.details["contacts"]["deleted"] == 1
    mirror = MirrorContact.objects.for_location(dubai)
    assert not mirror.filter(ghl_id=gone.ghl_id).exists()
    assert mirror.filter(ghl_id=new["contact"]["id"]).exists()
    assert MirrorTombstone.objects.for_location(dubai).filter(ghl_id=gone.ghl_id).exists()
    assert not SyncCursor.objects.for_location(dubai).filter(mode="reconcile").exists()


def test_a_run_interrupted_mid_way_resumes_at_its_cursor(dubai: Location, ghl: StandIn) -> None:
    ghl.seed(DUBAI, seed=11, contacts=1600)
    SyncCursor.objects.for_location(dubai).filter(mode="backfill").delete()
    fresh = SyncRun.objects.create(location=dubai, kind="backfill")

    class Killed(Exception):
        pass

    def die_after_1000_contacts(current: SyncRun) -> None:
        if current.entity == "contacts" and current.details["contacts"]["rows"] >= 1000:
            raise Killed

    with pytest.raises(Killed):
        sync_run_execute(run_pk=fresh.pk, progress=die_after_1000_contacts)
    fresh.refresh_from_db()
    assert fresh.status == "running"  # what a killed worker leaves behind
    cursor = SyncCursor.objects.for_location(dubai).get(entity="contacts", mode="backfill")
    assert cursor.cursor.get("after") and not cursor.done
    last_seen = max((r["seq"] for r in ghl.requests(DUBAI, limit=10_000)), default=0)
    sync_run_execute(run_pk=fresh.pk)  # the redelivered task
    fresh.refresh_from_db()
    assert fresh.status == "succeeded"
    resumed = ghl.requests(DUBAI, limit=10_000, since=last_seen)
    contact_pages = [r for r in resumed if r["path"] == "/contacts/search"]
    contacts = count_in_ghl(ghl)["contacts"]
    assert MirrorContact.objects.for_location(dubai).count() == contacts
    # Only the pages after the 1,000 contacts already stored: none is read twice.
    assert len(contact_pages) == -(-(contacts - 1000) // 500)


@contextmanager
def held_elsewhere(run: SyncRun) -> Iterator[None]:
    """The run's lock held by another database session: a worker still running it."""
    with psycopg.connect(**db.get_connection_params(), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [RUN_LOCK_NAMESPACE, run.pk])
        yield


def test_a_run_whose_worker_died_is_queued_again_and_a_live_one_is_never_doubled(
    dubai: Location, ghl: StandIn
) -> None:
    ghl.seed(DUBAI, seed=12, contacts=900)
    SyncCursor.objects.for_location(dubai).filter(mode="backfill").delete()
    run = SyncRun.objects.create(location=dubai, kind="backfill")

    def die_after_first_page(current: SyncRun) -> None:
        if current.entity == "contacts" and current.details["contacts"]["rows"] >= 500:
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        sync_run_execute(run_pk=run.pk, progress=die_after_first_page)
    assert sync_runs_stalled_requeue() == 0  # silent for seconds only: not stalled yet
    SyncRun.objects.unscoped().filter(pk=run.pk).update(
        updated_at=timezone.now() - timedelta(minutes=4)
    )
    calls = len(ghl.requests(DUBAI, limit=10_000))
    with held_elsewhere(run):
        assert sync_run_execute(run_pk=run.pk) is None  # a redelivered task beside the live one
        assert sync_runs_stalled_requeue() == 1  # queued (and run at once here): a no-op too
    run.refresh_from_db()
    assert run.status == "running" and len(ghl.requests(DUBAI, limit=10_000)) == calls
    assert sync_runs_stalled_requeue() == 1  # its worker is gone: this time it resumes
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert MirrorContact.objects.for_location(dubai).count() == count_in_ghl(ghl)["contacts"]


def test_uninstall_cancels_the_locations_runs(
    dubai: Location, django_capture_on_commit_callbacks: Any
) -> None:
    queued = SyncRun.objects.create(location=dubai, kind="reconcile")
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle_event_apply(payload={"type": "UNINSTALL", "locationId": DUBAI}, occurred_at=None)
    queued.refresh_from_db()
    assert queued.status == "cancelled" and queued.error == "GHL app uninstalled"
    assert sync_run_execute(run_pk=queued.pk) is None


def test_a_location_that_is_not_connected_fails_its_run_clearly(world: Any) -> None:
    run = SyncRun.objects.create(location=world.a.locations[0], kind="incremental")
    finished = sync_run_execute(run_pk=run.pk)
    assert finished is not None and finished.status == "failed"
    assert "not connected" in finished.error


def test_sync_location_command_draws_progress(dubai: Location, ghl: StandIn) -> None:
    out, err = StringIO(), StringIO()
    with redirect_stderr(err):
        call_command("sync_location", DUBAI, "--kind", "reconcile", stdout=out)
    assert "Reconciliation of Dubai Homes Realty: succeeded" in out.getvalue()
    assert "100%" in err.getvalue() and "records" in err.getvalue()


def test_unknown_kinds_and_locations_are_refused(dubai: Location) -> None:
    with pytest.raises(CommandError, match="No location"):
        call_command("sync_location", "NoSuchLocation")
    with pytest.raises(ApplicationError, match="Unknown sync kind"):
        sync_run_start(location=dubai, kind="everything")


def test_records_without_a_change_time_are_as_new_as_their_read(
    dubai: Location, ghl: StandIn
) -> None:
    """Users carry no change time: a webhook stamps one (the event's), and the next sync read
    must still be able to correct the row rather than be refused as stale."""
    from django.utils import timezone

    from integrations.mirror.writer import mirror_upsert

    user = MirrorUser.objects.for_location(dubai).order_by("ghl_id").first()
    assert user is not None
    mirror_upsert(
        location_id=dubai.pk,
        kind="user",
        records=[{"id": user.ghl_id, "firstName": "Outdated", "email": user.email}],
        changed_at=timezone.now(),
    )
    assert MirrorUser.objects.for_location(dubai).get(pk=user.pk).first_name == "Outdated"
    run = run_now(dubai, "reconcile")
    assert run.status == "succeeded"
    assert MirrorUser.objects.for_location(dubai).get(pk=user.pk).first_name == user.first_name
