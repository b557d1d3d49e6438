"""Every feature asks the one entitlement rule: allowed without a record, refused when the plan
leaves it out or billing is paused (data kept and readable), allowed again once restored."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from integrations.connectors.engine import connection_run
from integrations.connectors.models import ExternalConnection, ExternalSyncRun
from integrations.connectors.services import connection_create, connection_sync_now
from integrations.routing import queue
from integrations.routing.engine import route_lead
from integrations.routing.models import PendingLead, RoutingDecision, RoutingRule
from saas_platform.kernel.errors import NotEntitled
from tenants import selectors
from tenants.models import Invitation, Location
from tenants.services import location_entitlements_set
from tests import factories
from tests.conftest import World

from .portal.test_sync_pages import _https_post
from .routing.util import agents, contacts

pytestmark = pytest.mark.django_db
PLAN = {"routing": True, "reports": True, "connectors": 1, "seats": 3, "contact_limit": 2}


def _plan(location: Location, state: str = "active", **granted: Any) -> None:
    location_entitlements_set(location=location, granted=granted or PLAN, state=state)


def _api(location: Location, *scopes: str) -> Client:
    key = factories.ApiKeyFactory(agency=location.agency, location=location, scopes=list(scopes))
    return Client(
        HTTP_HOST=selectors.agency_primary_domain(location.agency),
        HTTP_AUTHORIZATION=f"Bearer {key.raw_key}",
    )


def _post(client: Client, url: str, body: Any) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


# --- routing -------------------------------------------------------------------------------------


def test_leads_wait_while_routing_is_not_in_the_plan_and_are_routed_once_it_is(
    world: World,
) -> None:
    location = world.a.locations[0]
    team = agents(location, 1)
    RoutingRule.objects.create(location=location, name="All", pool={"agents": team})
    leads = contacts(location, 3)
    _plan(location, routing=False, reports=True)
    for lead in leads:
        queue.lead_enqueue(location=location, contact_ghl_id=lead)
    assert queue.leads_drain() == 3
    assert not RoutingDecision.objects.for_location(location).exists()
    waiting = PendingLead.objects.for_location(location)
    assert sorted(waiting.values_list("contact_ghl_id", flat=True)) == sorted(leads)
    assert set(waiting.values_list("attempts", flat=True)) == {0}  # no attempt used up
    with pytest.raises(NotEntitled, match="does not include lead routing"):
        route_lead(location=location, contact_ghl_id=leads[0])

    _plan(location, **PLAN)
    later = timezone.now() + queue.ENTITLEMENT_RECHECK + timedelta(seconds=5)
    assert queue.leads_sweep(now=later) == 3
    assert queue.leads_drain(now=later) == 3
    routed = RoutingDecision.objects.for_location(location)
    assert sorted(routed.values_list("contact_ghl_id", flat=True)) == sorted(leads)
    assert not waiting.exists()


def test_without_a_plan_leads_are_routed_at_once(world: World) -> None:
    location = world.a.locations[0]
    RoutingRule.objects.create(location=location, name="All", pool={"agents": agents(location, 1)})
    for lead in contacts(location, 2):
        queue.lead_enqueue(location=location, contact_ghl_id=lead)
    assert queue.leads_drain() == 2
    assert RoutingDecision.objects.for_location(location).count() == 2


@pytest.mark.parametrize(
    ("state", "granted", "says"),
    [
        ("active", {"reports": True}, "Not part of your plan yet"),
        ("paused", PLAN, "Paused until the subscription is paid up"),
    ],
)
def test_the_portal_shows_rules_read_only_and_a_notice_instead_of_the_editor(
    world: World,
    agency_client: Callable[..., Client],
    state: str,
    granted: dict[str, Any],
    says: str,
) -> None:
    location = world.a.locations[0]
    rule = RoutingRule.objects.create(
        location=location, name="Zillow", pool={"agents": agents(location, 1)}
    )
    _plan(location, state=state, **granted)
    admin = agency_client(world.a, world.a.client_admin)
    base = f"/app/l/{location.pk}/routing/"
    listing = admin.get(base).content.decode()
    assert "Zillow" in listing and says in listing  # the data stays readable
    assert f"/app/l/{location.pk}/billing/" in listing and "New rule" not in listing
    editor = admin.get(f"{base}rules/{rule.pk}/")
    assert editor.status_code == 200 and says in editor.content.decode()
    assert 'name="pool_agents"' not in editor.content.decode()
    refused = admin.post(f"{base}rules/{rule.pk}/", {"name": "Renamed"})
    assert refused.status_code == 403
    toggled = admin.post(f"{base}rules/{rule.pk}/toggle/", follow=True)
    assert "Billing is paused" in toggled.content.decode() or "does not include" in (
        toggled.content.decode()
    )
    deleted = admin.post(f"{base}rules/{rule.pk}/delete/")
    assert deleted.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.enabled) == ("Zillow", True)  # nothing changed, nothing deleted
    if state == "paused":
        assert 'data-plan-notice="paused"' in listing

    _plan(location, **PLAN)
    restored = admin.get(f"{base}rules/{rule.pk}/").content.decode()
    assert 'name="name"' in restored and says not in restored


def test_the_api_answers_a_403_in_the_envelope_for_routing_writes(world: World) -> None:
    location = world.a.locations[0]
    team = agents(location, 1)
    contact = contacts(location, 1)[0]
    api = _api(location, "routing:write", "routing:read")
    base = f"/api/v1/locations/{location.pk}/routing/"
    _plan(location, state="paused", **PLAN)
    for response in (
        _post(api, f"{base}rules/", {"name": "Everyone", "pool": {"agents": team}}),
        _post(api, f"{base}route/", {"contact_id": contact}),
    ):
        assert response.status_code == 403, response.content
        error = response.json()["error"]
        assert error["code"] == "not_entitled"
        assert error["details"] == {"feature": "routing", "reason": "paused", "limit": 0}
    assert not RoutingRule.objects.for_location(location).exists()
    assert api.get(f"{base}rules/").status_code == 200  # reading is never refused
    _plan(location, **PLAN)
    created = _post(api, f"{base}rules/", {"name": "Everyone", "pool": {"agents": team}})
    assert created.status_code == 201, created.content


def test_the_agency_admin_refuses_rule_changes_while_paused(
    world: World, agency_client: Callable[..., Client]
) -> None:
    location = world.a.locations[0]
    team = agents(location, 1)
    rule = RoutingRule.objects.create(location=location, name="Marina", pool={"agents": team})
    _plan(location, state="paused", **PLAN)
    client = agency_client(world.a, world.a.owner)
    rules = "/admin/integrations/routingrule/"
    added = client.post(
        f"{rules}add/",
        {
            "location": location.pk,
            "name": "New",
            "position": "",
            "enabled": "on",
            "strategy": "round_robin",
            "conditions": "",
            "pool": json.dumps({"agents": team}),
            "fallback_pool": "",
            "pipeline_id": "",
            "stage_id": "",
        },
    )
    assert added.status_code == 200 and "Billing is paused" in added.content.decode()
    assert client.post(f"{rules}{rule.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = client.post(
        rules, {"action": "delete_selected", "_selected_action": [rule.pk], "post": "yes"}
    )
    assert bulk.status_code == 403
    assert list(RoutingRule.objects.for_location(location).values_list("name", flat=True)) == [
        "Marina"
    ]


# --- reports -------------------------------------------------------------------------------------


def test_the_report_api_and_csv_export_follow_the_plan(
    world: World, agency_client: Callable[..., Client]
) -> None:
    location = world.a.locations[0]
    api = _api(location, "reports:read")
    url = f"/api/v1/locations/{location.pk}/reports/dashboard/"
    export = f"/app/l/{location.pk}/dashboard/export.csv"
    admin = agency_client(world.a, world.a.client_admin)
    assert api.get(url).status_code == 200  # no plan through us: as before billing
    _plan(location, routing=True)
    refused = api.get(url)
    assert refused.status_code == 403
    assert refused.json()["error"]["details"]["reason"] == "not_in_plan"
    assert admin.get(export).status_code == 404
    _plan(location, state="paused", **PLAN)
    assert api.get(url).json()["error"]["details"]["reason"] == "paused"
    _plan(location, **PLAN)
    assert api.get(url).status_code == 200
    assert admin.get(export).status_code == 200


# --- connectors ----------------------------------------------------------------------------------


def _connection(location: Location, name: str) -> ExternalConnection:
    return connection_create(
        location=location,
        name=name,
        kind="https",
        config={"push_url": "https://93.184.215.14/hook"},
        credentials={},
        mapping=[{"ghl": "email", "external": "email"}],
    )


def test_connections_beyond_the_limit_are_refused(world: World) -> None:
    location = world.a.locations[0]
    _plan(location, **PLAN)  # connectors: 1
    _connection(location, "First")
    with pytest.raises(NotEntitled, match="Your plan allows 1 sync connections"):
        _connection(location, "Second")
    assert ExternalConnection.objects.for_location(location).count() == 1
    # Without a plan through us there is no limit.
    for n in range(3):
        _connection(world.a.locations[1], f"Sheet {n}")


def test_paused_billing_skips_scheduled_syncs_and_refuses_sync_now(world: World) -> None:
    location = world.a.locations[0]
    connection = factories.ExternalConnectionFactory(location=location)
    _plan(location, state="paused", **PLAN)
    run = connection_run(connection_pk=connection.pk)
    assert run is not None and run.status == ExternalSyncRun.Status.SKIPPED
    assert "Billing is paused" in run.error
    # Still paused at the next interval: the same row, brought up to date, not one per interval.
    again = connection_run(connection_pk=connection.pk)
    assert again is not None and again.pk == run.pk and again.finished_at > run.finished_at
    runs = ExternalSyncRun.objects.for_location(location).filter(connection=connection)
    assert runs.count() == 1
    connection.refresh_from_db()
    assert (connection.status, connection.consecutive_failures) == ("active", 0)
    with pytest.raises(NotEntitled, match="Billing is paused"):
        connection_sync_now(connection=connection)
    api = _api(location, "sync:write")
    answer = _post(
        api, f"/api/v1/locations/{location.pk}/sync/connections/{connection.pk}/sync/", {}
    )
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "not_entitled"


def test_the_portal_refuses_sync_now_kindly_while_paused(
    world: World, agency_client: Callable[..., Client]
) -> None:
    location = world.a.locations[0]
    _plan(location, **PLAN)
    factories.ExternalConnectionFactory(location=location)
    admin = agency_client(world.a, world.a.client_admin)
    connection = ExternalConnection.objects.for_location(location).get()
    _plan(location, state="paused", **PLAN)
    response = admin.post(f"/app/l/{location.pk}/sync/{connection.pk}/sync-now/", follow=True)
    assert response.status_code == 200
    assert "Billing is paused" in response.content.decode()


def test_the_portal_refuses_one_connection_too_many_with_the_plans_reason(
    world: World, agency_client: Callable[..., Client]
) -> None:
    location = world.a.locations[0]
    _plan(location, **PLAN)  # connectors: 1
    admin = agency_client(world.a, world.a.client_admin)
    new = f"/app/l/{location.pk}/sync/new/https/"
    assert admin.post(new, _https_post(name="First")).status_code == 302
    refused = admin.post(new, _https_post(name="Second"))
    assert refused.status_code == 400  # the form again, with the reason
    assert "Your plan allows 1 sync connections" in refused.content.decode()
    names = ExternalConnection.objects.for_location(location).values_list("name", flat=True)
    assert list(names) == ["First"]


# --- seats ---------------------------------------------------------------------------------------


def test_inviting_beyond_the_seats_is_refused(
    world: World, agency_client: Callable[..., Client]
) -> None:
    location = world.a.locations[0]  # one client user already: its admin
    _plan(location, **{**PLAN, "seats": 2})
    admin = agency_client(world.a, world.a.client_admin)
    team = f"/app/l/{location.pk}/team/"
    first = admin.post(team, {"email": "one@a.test", "role": "client_member"})
    assert first.status_code == 302
    second = admin.post(team, {"email": "two@a.test", "role": "client_member"})
    assert second.status_code == 200  # the form again, with the reason
    assert "Your plan allows 2 team seats" in second.content.decode()
    invited = Invitation.objects.for_agency(world.a.agency).filter(location=location)
    assert list(invited.values_list("email", flat=True)) == ["one@a.test"]
    _plan(location, **{**PLAN, "seats": 3})
    assert admin.post(team, {"email": "two@a.test", "role": "client_member"}).status_code == 302


# --- contact limit -------------------------------------------------------------------------------


def test_over_the_contact_limit_the_portal_warns_and_the_api_refuses(
    world: World, agency_client: Callable[..., Client]
) -> None:
    location = world.a.locations[0]
    for _ in range(3):
        factories.MirrorContactFactory(location=location)
    admin = agency_client(world.a, world.a.client_admin)
    page = f"/app/l/{location.pk}/contacts/"
    assert "data-contact-limit" not in admin.get(page).content.decode()
    _plan(location, **PLAN)  # contact_limit: 2, the mirror holds 3 (none dropped)
    warned = admin.get(page).content.decode()
    assert "data-contact-limit" in warned and "3 contacts" in warned
    api = _api(location, "contacts:write")
    refused = _post(api, f"/api/v1/locations/{location.pk}/contacts/", {"email": "x@a.test"})
    assert refused.status_code == 403, refused.content
    assert refused.json()["error"]["details"] == {
        "feature": "contact_limit",
        "reason": "limit_reached",
        "limit": 2,
    }
