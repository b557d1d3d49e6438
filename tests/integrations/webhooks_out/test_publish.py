"""Events published where things happen: one outbox row per changed contact from the mirror
writer's own statement, stage changes of opportunities, routed leads, finished syncs and
subscription changes (billing, through tenants) — and no rows when nobody subscribed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import StripeAccount
from billing.services.subscriptions import subscription_apply
from integrations.routing.engine import leads_route, route_lead
from integrations.sync import engine as sync_engine
from integrations.sync.models import SyncRun
from tenants.models import Location, TenantEvent
from tests import factories
from tests.conftest import World
from tests.integrations.mirror.helpers import T0, contact, upsert
from tests.integrations.webhooks_out.conftest import subscribe

pytestmark = pytest.mark.django_db


def _events(location: Location) -> list[tuple[str, dict[str, Any]]]:
    rows = TenantEvent.objects.for_location(location).order_by("created_at", "type")
    return [(e.type, e.data) for e in rows]


def test_nothing_is_recorded_without_a_subscriber(location: Location) -> None:
    upsert(location, [contact("c1")])
    subscribe(location, ["lead.routed"])  # another event type
    upsert(location, [contact("c2")])
    assert _events(location) == []


def test_the_mirror_writer_publishes_each_created_and_changed_contact_once(
    location: Location, django_capture_on_commit_callbacks: Any
) -> None:
    subscribe(location, ["contact.created", "contact.updated"])
    upsert(location, [contact("c1"), contact("c2", firstName="Bo")])
    upsert(location, [contact("c1"), contact("c2", at=T0 + timedelta(hours=1), firstName="Bea")])
    events = _events(location)
    assert sorted(t for t, _ in events) == ["contact.created"] * 2 + ["contact.updated"]
    updated = next(data for t, data in events if t == "contact.updated")
    assert updated["contact"]["id"] == "c2" and updated["contact"]["first_name"] == "Bea"
    assert set(updated["contact"]) >= {"email", "phone", "tags", "last_name"}


def test_a_big_batch_publishes_through_the_staging_table(location: Location) -> None:
    subscribe(location, ["contact.created"])  # updates not wanted: none recorded
    upsert(location, [contact(f"c{i}") for i in range(200)])
    upsert(location, [contact(f"c{i}", at=T0 + timedelta(hours=1)) for i in range(200)])
    types = [t for t, _ in _events(location)]
    assert types == ["contact.created"] * 200


def test_only_a_stage_change_publishes_an_opportunity_event(location: Location) -> None:
    subscribe(location, ["opportunity.stage_changed"])

    def opp(stage: str, at: Any, **extra: Any) -> dict[str, Any]:
        return {
            "id": "o1",
            "name": "Deal",
            "pipelineId": "p1",
            "pipelineStageId": stage,
            "status": "open",
            "contactId": "c1",
            "monetaryValue": 100,
            "updatedAt": at.isoformat().replace("+00:00", "Z"),
            **extra,
        }

    upsert(location, [opp("s1", T0)], kind="opportunity")  # created: not a stage change
    upsert(location, [opp("s1", T0 + timedelta(hours=1), name="Deal 2")], kind="opportunity")
    upsert(location, [opp("s2", T0 + timedelta(hours=2))], kind="opportunity")
    events = _events(location)
    assert [t for t, _ in events] == ["opportunity.stage_changed"]
    data = events[0][1]["opportunity"]
    assert (data["id"], data["previous_stage_id"], data["stage_id"]) == ("o1", "s1", "s2")
    assert data["pipeline_id"] == "p1" and data["contact_id"] == "c1"


def test_a_routed_lead_is_published(location: Location) -> None:
    subscribe(location, ["lead.routed"])
    factories.MirrorContactFactory(location=location, ghl_id="lead1")
    decision = route_lead(location=location, contact_ghl_id="lead1")
    [(kind, data)] = _events(location)
    assert kind == "lead.routed"
    assert data["lead"]["contact_id"] == "lead1" and data["lead"]["status"] == decision.status


def test_a_batch_of_routed_leads_is_published_in_one_insert(location: Location) -> None:
    subscribe(location, ["lead.routed"])
    for n in range(4):
        factories.MirrorContactFactory(location=location, ghl_id=f"lead{n}")
    with CaptureQueriesContext(connection) as queries:
        decisions = leads_route(location=location, contact_ghl_ids=[f"lead{n}" for n in range(4)])
    inserts = [
        q["sql"] for q in queries if q["sql"].startswith('INSERT INTO "tenants_tenantevent"')
    ]
    assert len(inserts) == 1
    published = sorted(data["lead"]["contact_id"] for _, data in _events(location))
    assert published == sorted(decisions)


@pytest.mark.parametrize(
    ("status", "expected"),
    [(SyncRun.Status.SUCCEEDED, "sync.completed"), (SyncRun.Status.FAILED, "sync.failed")],
)
def test_a_finished_sync_is_published(location: Location, status: str, expected: str) -> None:
    subscribe(location, ["sync.completed", "sync.failed"])
    run = factories.SyncRunFactory(
        location=location, status=SyncRun.Status.RUNNING, started_at=timezone.now(), rows=42
    )
    sync_engine._finish(run, status, error="GHL said no" if expected == "sync.failed" else "")
    sync_engine._finish(run, status)  # finishing twice publishes once
    [(kind, data)] = _events(location)
    assert kind == expected and data["sync"]["rows"] == 42 and data["sync"]["status"] == status
    assert (data["sync"]["error"] is None) == (expected == "sync.completed")


def test_billing_publishes_subscription_changes_through_tenants(world: World) -> None:
    location = world.a.locations[0]
    subscribe(location, ["subscription.updated"])
    StripeAccount.objects.create(agency=world.a.agency, stripe_account_id="acct_hooks")

    def remote(status: str) -> dict[str, Any]:
        return {
            "id": "sub_hooks",
            "status": status,
            "customer": "cus_1",
            "metadata": {"location_id": str(location.pk)},
            "items": {"data": []},
        }

    subscription_apply(account="acct_hooks", remote=remote("active"))
    subscription_apply(account="acct_hooks", remote=remote("active"))  # unchanged: no event
    subscription_apply(account="acct_hooks", remote=remote("past_due"))
    events = _events(location)
    assert [data["subscription"]["status"] for _, data in events] == ["active", "past_due"]
    assert {t for t, _ in events} == {"subscription.updated"}
    assert "sub_hooks" not in str(events) and "cus_1" not in str(events)
