"""The API's read resources on the mirror and the platform's own tables (no CRM involved):
allow-listed fields, filters, ordering, sparse fields, scopes, the reports' JSON, and list
queries that do not grow with the page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests import factories
from tests.api.conftest import error_of
from tests.conftest import World

pytestmark = pytest.mark.django_db


def _client(world: World, make_key: Any, api: Any, *scopes: str, agency_wide: bool = False) -> Any:
    location = None if agency_wide else world.a.locations[0]
    return api(make_key(world.a.agency, location=location, scopes=list(scopes)))


def _base(world: World) -> str:
    return f"/api/v1/locations/{world.a.locations[0].pk}/"


def test_pipelines_show_only_stage_ids_and_names(world: World, make_key: Any, api: Any) -> None:
    location = world.a.locations[0]
    stages = [{"id": "s1", "name": "New", "position": 0, "internal": "x"}]
    factories.MirrorPipelineFactory(location=location, ghl_id="p1", name="Sales", stages=stages)
    client = _client(world, make_key, api, "pipelines:read")
    [pipeline] = client.get(_base(world) + "pipelines/").json()["data"]
    assert pipeline == {"id": "p1", "name": "Sales", "stages": [{"id": "s1", "name": "New"}]}
    assert client.get(_base(world) + "pipelines/p1/", {"fields": "name"}).json() == {
        "name": "Sales"
    }
    assert client.get(_base(world) + "opportunities/").status_code == 403


def test_opportunities_filter_by_pipeline_stage_status_and_assignee(
    world: World, make_key: Any, api: Any
) -> None:
    location = world.a.locations[0]
    factories.MirrorPipelineFactory(location=location, ghl_id="p1")
    factories.MirrorPipelineFactory(location=world.b.locations[0], ghl_id="pb")

    def opportunity(**fields: Any) -> str:
        defaults = {"pipeline_ghl_id": "p1", "stage_ghl_id": "s1", "status": "open"}
        made = factories.MirrorOpportunityFactory(location=location, **{**defaults, **fields})
        return str(made.ghl_id)

    won = opportunity(status="won", assigned_to="u1", monetary_value=900)
    other_stage = opportunity(stage_ghl_id="s2", monetary_value=100)
    plain = opportunity(monetary_value=500)
    client = _client(world, make_key, api, "opportunities:read")
    url = _base(world) + "opportunities/"

    def ids(**params: Any) -> list[str]:
        response = client.get(url, params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["data"]]

    assert ids(status="won") == [won]
    assert ids(assigned_to="u1") == [won]
    assert ids(stage_id="s2") == [other_stage]
    assert ids(pipeline_id="p1", ordering="-monetary_value") == [won, plain, other_stage]
    # Another agency's pipeline is the same 404 as a missing one.
    assert error_of(client.get(url, {"pipeline_id": "pb"}))["code"] == "not_found"
    assert error_of(client.get(url, {"stage": "s1"}))["code"] == "unknown_parameter"
    # An empty sort key is refused like any other unknown one (found by the R25 fuzzing).
    assert error_of(client.get(url, {"ordering": ""}))["code"] == "invalid"
    row = client.get(f"{url}{won}/").json()
    assert row["monetary_value"] == "900.00" and row["pipeline_id"] == "p1"
    assert "location" not in row and "synced_at" not in row


def test_appointments_filter_by_start_range_and_calendar(
    world: World, make_key: Any, api: Any
) -> None:
    location = world.a.locations[0]
    now = timezone.now()
    early = factories.MirrorAppointmentFactory(
        location=location, calendar_ghl_id="c1", start_time=now + timedelta(days=1)
    )
    late = factories.MirrorAppointmentFactory(
        location=location, calendar_ghl_id="c2", start_time=now + timedelta(days=10)
    )
    client = _client(world, make_key, api, "appointments:read")
    url = _base(world) + "appointments/"
    cut = (now + timedelta(days=5)).isoformat()
    assert [r["id"] for r in client.get(url, {"starts_before": cut}).json()["data"]] == [
        early.ghl_id
    ]
    assert [r["id"] for r in client.get(url, {"starts_after": cut}).json()["data"]] == [late.ghl_id]
    assert [r["id"] for r in client.get(url, {"calendar_id": "c2"}).json()["data"]] == [late.ghl_id]
    assert error_of(client.get(url, {"starts_after": "tomorrow"}))["code"] == "invalid"


def test_routing_decisions_filter_and_never_show_the_crm_error(
    world: World, make_key: Any, api: Any
) -> None:
    location = world.a.locations[0]
    failed = factories.RoutingDecisionFactory(
        location=location, status="assigned", agent_ghl_id="u1", ghl_error="GHL refused: x"
    )
    factories.RoutingDecisionFactory(location=location)
    client = _client(world, make_key, api, "routing:read")
    url = _base(world) + "routing/decisions/"
    [row] = client.get(url, {"agent_id": "u1"}).json()["data"]
    assert row["id"] == failed.pk and row["assignment_failed"] is True
    assert "GHL" not in client.get(url).content.decode()
    assert len(client.get(url, {"status": "unroutable"}).json()["data"]) == 1


def test_sync_connections_never_show_credentials_or_settings(
    world: World, make_key: Any, api: Any
) -> None:
    location = world.a.locations[0]
    connection_ = factories.ExternalConnectionFactory(
        location=location, credentials='{"token": "s3cret-token"}'
    )
    factories.ExternalSyncRunFactory(location=location, connection=connection_, to_ghl=7)
    client = _client(world, make_key, api, "sync:read")
    response = client.get(_base(world) + "sync/connections/")
    [row] = response.json()["data"]
    assert row["id"] == connection_.pk
    text = response.content.decode()
    assert "s3cret" not in text and "credentials" not in text and "push_url" not in text
    runs = client.get(_base(world) + "sync/runs/", {"connection": connection_.pk}).json()["data"]
    assert [(r["connection_id"], r["to_crm"]) for r in runs] == [(connection_.pk, 7)]


def test_sync_now_queues_a_run_and_refuses_a_disabled_connection(
    world: World, make_key: Any, api: Any, django_capture_on_commit_callbacks: Any
) -> None:
    location = world.a.locations[0]
    active = factories.ExternalConnectionFactory(location=location)
    disabled = factories.ExternalConnectionFactory(location=location, status="disabled")
    client = _client(world, make_key, api, "sync:write")
    url = _base(world) + "sync/connections/{}/sync/"
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(url.format(active.pk))
    assert response.status_code == 202
    assert response.json() == {"queued": True, "connection_id": active.pk}
    assert len(queued) == 1
    refused = client.post(url.format(disabled.pk))
    assert refused.status_code == 422 and "disabled" in error_of(refused)["message"]
    reader = _client(world, make_key, api, "sync:read")
    assert reader.post(url.format(active.pk)).status_code == 403


def test_reports_answer_the_dashboard_figures_for_a_range(
    world: World, make_key: Any, api: Any
) -> None:
    location = world.a.locations[0]
    today = timezone.localdate()
    factories.LeadDayFactory(location=location, day=today, source="web", leads=3)
    factories.LeadDayFactory(location=location, day=today - timedelta(days=40), leads=5)
    factories.LeadDayFactory(location=world.b.locations[0], day=today, leads=100)
    client = _client(world, make_key, api, "reports:read")
    url = _base(world) + "reports/dashboard/"
    body = client.get(url).json()
    assert body["scope"] == "location" and body["total_leads"] == 3
    assert body["leads_by_source"] == [{"source": "web", "leads": 3}]
    wide = {"date_from": (today - timedelta(days=60)).isoformat(), "date_to": today.isoformat()}
    assert client.get(url, wide).json()["total_leads"] == 8
    assert error_of(client.get(url, {"date_from": "2026-13-01"}))["code"] == "invalid"
    too_long = {"date_from": "2020-01-01", "date_to": "2026-01-01"}
    assert "366" in str(error_of(client.get(url, too_long))["details"])
    assert error_of(client.get(url, {"from": "2026-01-01"}))["code"] == "unknown_parameter"
    agency = _client(world, make_key, api, "reports:read", agency_wide=True)
    figures = agency.get("/api/v1/reports/dashboard/").json()
    assert figures["scope"] == "agency" and figures["total_leads"] == 3


def test_plans_and_subscriptions_never_show_stripe_ids(
    world: World, make_key: Any, api: Any
) -> None:
    plan = factories.PlanFactory(agency=world.a.agency, stripe_price_id="price_secret1")
    factories.SubscriptionFactory(location=world.a.locations[0], plan=plan)
    client = _client(world, make_key, api, "plans:read", "subscriptions:read")
    plans = client.get("/api/v1/plans/")
    subscriptions = client.get("/api/v1/subscriptions/")
    assert [row["id"] for row in plans.json()["data"]] == [plan.pk]
    [row] = subscriptions.json()["data"]
    assert row["plan_id"] == plan.pk and row["location_id"] == world.a.locations[0].pk
    for response in (plans, subscriptions):
        text = response.content.decode()
        assert "price_" not in text and "sub_test" not in text and "acct_" not in text


LISTS = [
    ("contacts/", "contacts:read", factories.MirrorContactFactory),
    ("opportunities/", "opportunities:read", factories.MirrorOpportunityFactory),
    ("appointments/", "appointments:read", factories.MirrorAppointmentFactory),
    ("routing/decisions/", "routing:read", factories.RoutingDecisionFactory),
]


@pytest.mark.parametrize(("suffix", "scope", "factory"), LISTS)
def test_list_queries_are_the_same_for_1_50_and_200_items(
    world: World, make_key: Any, api: Any, suffix: str, scope: str, factory: Any
) -> None:
    location = world.a.locations[0]
    factory.create_batch(201, location=location)
    client = _client(world, make_key, api, scope)
    url = _base(world) + suffix
    client.get(url)  # last_used_at is written on the first call
    counts = []
    for size in (1, 50, 200):
        with CaptureQueriesContext(connection) as captured:
            assert len(client.get(url, {"page_size": size}).json()["data"]) == size
        counts.append(len(captured))
    assert counts[0] == counts[1] == counts[2] <= 4, counts


def test_a_path_no_route_matches_is_a_json_404_even_with_a_newline(
    world: World, make_key: Any, api: Any
) -> None:
    client = _client(world, make_key, api, "sync:write")
    # Found by the R25 fuzzing: `.` stops at a newline, so Django's HTML 404 answered.
    for path in ("sync/connections/a%0Ab/sync/", "no-such-thing%0A/"):
        assert error_of(client.post(_base(world) + path, {}))["code"] == "not_found"
        assert error_of(client.get(_base(world) + path))["code"] == "not_found"
