"""Isolation cases of the API's second part (pipelines, opportunities, appointments, routing,
sync, reports, plans, subscriptions): each route called with agency A's keys and agency B's ids
(404, the same as a missing id), a location key on its sibling location (404), B's key on A's
domain, a forged key and no key (401). Merged into the matrix by tests/isolation.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.test import Client

from integrations.mirror.models import MirrorOpportunity
from integrations.routing.models import RoutingDecision, RoutingRule
from tenants.api.keys import api_key_create
from tenants.api.models import API_SCOPES
from tenants.models import Location
from tests import factories
from tests.isolation import Check, Visitors, _shows_nothing_of_b

PREFIX = "api/v1/locations/<int:location_id>/"
# Every permission there is: only the tenant, never the scope, stops these calls.
SCOPES = [scope for scope in API_SCOPES if scope.endswith(":write")]


class Keys:
    def __init__(self, v: Visitors) -> None:
        self.world = world = v.world
        self.own, self.sibling = world.a.locations
        self.foreign = world.b.locations[0]

        def make(agency: Any, location: Location | None = None) -> str:
            return api_key_create(
                agency=agency, location=location, name="k", scopes=SCOPES, acting_user=None
            ).secret

        self.a = make(world.a.agency)
        self.a_location = make(world.a.agency, self.own)
        self.b = make(world.b.agency)

    def on_a(self, raw: str | None) -> Client:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"} if raw else {}
        return Client(HTTP_HOST=self.world.a.domain, **headers)

    def post(self, raw: str | None, url: str, body: Any = None) -> Any:
        return self.on_a(raw).post(url, json.dumps(body or {}), content_type="application/json")


def _refuses_strangers(keys: Keys, url: str, method: str = "get") -> None:
    for raw in (keys.b, None, "ak_000000000000.forged"):
        response = keys.on_a(raw).get(url) if method == "get" else keys.post(raw, url, {})
        assert response.status_code == 401, (url, raw, response.status_code)
        assert set(response.json()) == {"error"}


Make = Callable[[Location], str]  # makes an object in the location, answers its public id


def nested_list(suffix: str, make: Make | None = None) -> Check:
    """Own location: 200, nothing of B; another agency's location, or a location key on its
    sibling: 404; strangers: 401."""

    def check(v: Visitors) -> None:
        keys = Keys(v)
        if make is not None:
            make(keys.own)
            make(keys.foreign)
        url = "/api/v1/locations/{}/" + suffix
        response = keys.on_a(keys.a).get(url.format(keys.own.pk))
        assert response.status_code == 200, response.content
        _shows_nothing_of_b(response, v.world)
        if make is not None:
            assert response.json()["data"], suffix
        assert keys.on_a(keys.a).get(url.format(keys.foreign.pk)).status_code == 404
        assert keys.on_a(keys.a_location).get(url.format(keys.sibling.pk)).status_code == 404
        assert keys.on_a(keys.a_location).get(url.format(keys.own.pk)).status_code == 200
        _refuses_strangers(keys, url.format(keys.own.pk))

    return check


def nested_detail(suffix: str, make: Make) -> Check:
    """Own object: 200; B's object under A's location or under its own: 404; strangers: 401."""

    def check(v: Visitors) -> None:
        keys = Keys(v)
        mine, theirs = make(keys.own), make(keys.foreign)
        url = "/api/v1/locations/{}/" + suffix
        client = keys.on_a(keys.a)
        assert client.get(url.format(keys.own.pk, mine)).status_code == 200
        assert client.get(url.format(keys.own.pk, theirs)).status_code == 404
        assert client.get(url.format(keys.foreign.pk, theirs)).status_code == 404
        assert keys.on_a(keys.a_location).get(url.format(keys.sibling.pk, mine)).status_code == 404
        _refuses_strangers(keys, url.format(keys.own.pk, mine))

    return check


def _pipeline(location: Location, ghl_id: str = "iso-pipe") -> str:
    stages = [{"id": "iso-s1", "name": "New"}, {"id": "iso-s2", "name": "Won"}]
    return str(
        factories.MirrorPipelineFactory(location=location, ghl_id=ghl_id, stages=stages).ghl_id
    )


def _own_pipeline(location: Location) -> str:
    return _pipeline(location, f"iso-pipe-{location.pk}")


def _opportunity(location: Location) -> str:
    return str(
        factories.MirrorOpportunityFactory(
            location=location, pipeline_ghl_id="iso-pipe", stage_ghl_id="iso-s1"
        ).ghl_id
    )


def _appointment(location: Location) -> str:
    return str(factories.MirrorAppointmentFactory(location=location).ghl_id)


def _rule(location: Location) -> str:
    return str(factories.RoutingRuleFactory(location=location).pk)


def _decision(location: Location) -> str:
    return str(factories.RoutingDecisionFactory(location=location).pk)


def _connection(location: Location) -> str:
    return str(factories.ExternalConnectionFactory(location=location).pk)


def _run(location: Location) -> str:
    connection = factories.ExternalConnectionFactory(location=location)
    return str(factories.ExternalSyncRunFactory(location=location, connection=connection).pk)


def _opportunity_move(v: Visitors) -> None:
    """B's opportunity, under A's location or its own, is a 404 and stays where it was."""
    keys = Keys(v)
    _pipeline(keys.own)
    _pipeline(keys.foreign)
    mine, theirs = _opportunity(keys.own), _opportunity(keys.foreign)
    url = "/api/v1/locations/{}/opportunities/{}/move/"
    move = {"stage_id": "iso-s2"}
    for location, opportunity in ((keys.own, theirs), (keys.foreign, theirs)):
        assert keys.post(keys.a, url.format(location.pk, opportunity), move).status_code == 404
    assert keys.post(keys.a_location, url.format(keys.sibling.pk, mine), move).status_code == 404
    # A stage of no pipeline of the opportunity's is the same 404.
    elsewhere = {"stage_id": "elsewhere"}
    assert keys.post(keys.a, url.format(keys.own.pk, mine), elsewhere).status_code == 404
    _refuses_strangers(keys, url.format(keys.own.pk, mine), "post")
    assert {o.stage_ghl_id for o in MirrorOpportunity.objects.unscoped()} == {"iso-s1"}


def _appointment_book(v: Visitors) -> None:
    """Booking for B's contact, or in B's location, is a 404 before the CRM is asked."""
    keys = Keys(v)
    theirs = factories.MirrorContactFactory(location=keys.foreign)
    url = "/api/v1/locations/{}/appointments/"
    body = {"calendar_id": "cal", "contact_id": theirs.ghl_id, "start_time": "2031-01-01T10:00Z"}
    assert keys.post(keys.a, url.format(keys.own.pk), body).status_code == 404
    assert keys.post(keys.a, url.format(keys.foreign.pk), body).status_code == 404
    assert keys.post(keys.a_location, url.format(keys.sibling.pk), body).status_code == 404
    nested_list("appointments/", _appointment)(v)
    _refuses_strangers(keys, url.format(keys.own.pk), "post")


def _rule_list(v: Visitors) -> None:
    keys = Keys(v)
    url = "/api/v1/locations/{}/routing/rules/"
    body = {"name": "Sneaky", "pool": {"agents": []}}
    assert keys.post(keys.a, url.format(keys.foreign.pk), body).status_code == 404
    assert keys.post(keys.a_location, url.format(keys.sibling.pk), body).status_code == 404
    assert not RoutingRule.objects.unscoped().filter(name="Sneaky").exists()
    nested_list("routing/rules/", _rule)(v)
    _refuses_strangers(keys, url.format(keys.own.pk), "post")


def _rule_detail(v: Visitors) -> None:
    keys = Keys(v)
    theirs = _rule(keys.foreign)
    url = "/api/v1/locations/{}/routing/rules/{}/"
    client = keys.on_a(keys.a)
    for location in (keys.own, keys.foreign):
        target = url.format(location.pk, theirs)
        body = json.dumps({"name": "Renamed"})
        assert client.patch(target, body, content_type="application/json").status_code == 404
        assert client.delete(target).status_code == 404
    assert RoutingRule.objects.unscoped().get(pk=theirs).name != "Renamed"
    nested_detail("routing/rules/{}/", _rule)(v)


def _route_contact(v: Visitors) -> None:
    keys = Keys(v)
    theirs = factories.MirrorContactFactory(location=keys.foreign)
    url = "/api/v1/locations/{}/routing/route/"
    body = {"contact_id": theirs.ghl_id}
    assert keys.post(keys.a, url.format(keys.own.pk), body).status_code == 404
    assert keys.post(keys.a, url.format(keys.foreign.pk), body).status_code == 404
    mine = factories.MirrorContactFactory(location=keys.own)
    sibling_url = url.format(keys.sibling.pk)
    assert keys.post(keys.a_location, sibling_url, {"contact_id": mine.ghl_id}).status_code == 404
    _refuses_strangers(keys, url.format(keys.own.pk), "post")
    assert not RoutingDecision.objects.unscoped().exists()


def _sync_now(v: Visitors) -> None:
    keys = Keys(v)
    theirs = _connection(keys.foreign)
    mine = _connection(keys.own)
    url = "/api/v1/locations/{}/sync/connections/{}/sync/"
    assert keys.post(keys.a, url.format(keys.own.pk, theirs)).status_code == 404
    assert keys.post(keys.a, url.format(keys.foreign.pk, theirs)).status_code == 404
    assert keys.post(keys.a_location, url.format(keys.sibling.pk, mine)).status_code == 404
    _refuses_strangers(keys, url.format(keys.own.pk, mine), "post")


def _run_list(v: Visitors) -> None:
    keys = Keys(v)
    theirs = _connection(keys.foreign)
    url = f"/api/v1/locations/{keys.own.pk}/sync/runs/"
    assert keys.on_a(keys.a).get(url, {"connection": theirs}).status_code == 404
    nested_list("sync/runs/", _run)(v)


def _agency_dashboard(v: Visitors) -> None:
    keys = Keys(v)
    url = "/api/v1/reports/dashboard/"
    response = keys.on_a(keys.a).get(url)
    assert response.status_code == 200
    _shows_nothing_of_b(response, v.world)
    assert keys.on_a(keys.a).get(url, {"location": keys.own.pk}).status_code == 200
    assert keys.on_a(keys.a).get(url, {"location": keys.foreign.pk}).status_code == 404
    assert keys.on_a(keys.a_location).get(url).status_code == 403
    _refuses_strangers(keys, url)


def _plans(detail: bool) -> Check:
    def check(v: Visitors) -> None:
        keys = Keys(v)
        mine = factories.PlanFactory(agency=v.world.a.agency)
        theirs = factories.PlanFactory(agency=v.world.b.agency, name="B Location plan")
        client = keys.on_a(keys.a)
        if detail:
            assert client.get(f"/api/v1/plans/{mine.pk}/").status_code == 200
            assert client.get(f"/api/v1/plans/{theirs.pk}/").status_code == 404
            _refuses_strangers(keys, f"/api/v1/plans/{mine.pk}/")
            return
        response = client.get("/api/v1/plans/")
        assert [row["id"] for row in response.json()["data"]] == [mine.pk]
        _shows_nothing_of_b(response, v.world)
        _refuses_strangers(keys, "/api/v1/plans/")

    return check


def _subscriptions(detail: bool) -> Check:
    def check(v: Visitors) -> None:
        keys = Keys(v)
        mine = factories.SubscriptionFactory(location=keys.own)
        sibling = factories.SubscriptionFactory(location=keys.sibling)
        theirs = factories.SubscriptionFactory(location=keys.foreign)
        client = keys.on_a(keys.a)
        if detail:
            assert client.get(f"/api/v1/subscriptions/{mine.pk}/").status_code == 200
            assert client.get(f"/api/v1/subscriptions/{theirs.pk}/").status_code == 404
            located = keys.on_a(keys.a_location)
            assert located.get(f"/api/v1/subscriptions/{sibling.pk}/").status_code == 404
            _refuses_strangers(keys, f"/api/v1/subscriptions/{mine.pk}/")
            return
        response = client.get("/api/v1/subscriptions/")
        assert {row["id"] for row in response.json()["data"]} == {mine.pk, sibling.pk}
        located = keys.on_a(keys.a_location).get("/api/v1/subscriptions/").json()["data"]
        assert [row["id"] for row in located] == [mine.pk]
        foreign = {"location": keys.foreign.pk}
        assert client.get("/api/v1/subscriptions/", foreign).status_code == 404
        _refuses_strangers(keys, "/api/v1/subscriptions/")

    return check


API_RESOURCE_CASES: dict[str, Check] = {
    PREFIX + "pipelines/": nested_list("pipelines/", _pipeline),
    PREFIX + "pipelines/<str:pipeline_id>/": nested_detail("pipelines/{}/", _own_pipeline),
    PREFIX + "opportunities/": nested_list("opportunities/", _opportunity),
    PREFIX + "opportunities/<str:opportunity_id>/": nested_detail(
        "opportunities/{}/", _opportunity
    ),
    PREFIX + "opportunities/<str:opportunity_id>/move/": _opportunity_move,
    PREFIX + "appointments/": _appointment_book,
    PREFIX + "appointments/<str:appointment_id>/": nested_detail("appointments/{}/", _appointment),
    PREFIX + "routing/rules/": _rule_list,
    PREFIX + "routing/rules/<int:rule_id>/": _rule_detail,
    PREFIX + "routing/decisions/": nested_list("routing/decisions/", _decision),
    PREFIX + "routing/decisions/<int:decision_id>/": nested_detail(
        "routing/decisions/{}/", _decision
    ),
    PREFIX + "routing/route/": _route_contact,
    PREFIX + "sync/connections/": nested_list("sync/connections/", _connection),
    PREFIX + "sync/connections/<int:connection_id>/": nested_detail(
        "sync/connections/{}/", _connection
    ),
    PREFIX + "sync/connections/<int:connection_id>/sync/": _sync_now,
    PREFIX + "sync/runs/": _run_list,
    PREFIX + "sync/runs/<int:run_id>/": nested_detail("sync/runs/{}/", _run),
    PREFIX + "reports/dashboard/": nested_list("reports/dashboard/"),
    "api/v1/reports/dashboard/": _agency_dashboard,
    "api/v1/plans/": _plans(detail=False),
    "api/v1/plans/<int:pk>/": _plans(detail=True),
    "api/v1/subscriptions/": _subscriptions(detail=False),
    "api/v1/subscriptions/<int:pk>/": _subscriptions(detail=True),
}
