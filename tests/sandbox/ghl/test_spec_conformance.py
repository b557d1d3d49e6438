"""Data-driven fidelity: every route the stand-in serves is checked against the official spec.

The route table is enumerated (in process and as served at ``/_sandbox/routes``); each entry's
path, method, operationId, ``Version`` value, security and statuses must match the spec, and a
representative request per route must be spec-valid and get a spec-valid response.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from sandbox.ghl.api.routes import api_routes
from sandbox.ghl.pipeline import ApiRoute, Security
from sandbox.ghl.spec import SpecSet, nest_messages
from sandbox.ghl.testing import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, StandIn
from tests.sandbox.ghl.conformance import check_route
from tests.sandbox.ghl.conftest import APEX, DUBAI, Api

ROUTES = api_routes()


def as_dict(route: ApiRoute) -> dict[str, Any]:
    return {
        "method": route.method,
        "path": route.path,
        "spec": route.spec,
        "operationId": route.operation_id,
        "version": route.version,
        "status": route.status,
        "body": route.body,
        "scopeFallback": route.scope_fallback,
        "security": [{"scheme": s.scheme, "scopes": list(s.scopes)} for s in route.security],
    }


def key(route: ApiRoute) -> str:
    return f"{route.method} {route.path}"


def test_served_route_table_is_the_checked_one(ghl_standin: StandIn) -> None:
    assert ghl_standin.routes() == [as_dict(r) for r in ROUTES]
    assert len({key(r) for r in ROUTES}) == len(ROUTES), "duplicate routes"


@pytest.mark.parametrize("route", ROUTES, ids=key)
def test_route_matches_spec(spec: SpecSet, route: ApiRoute) -> None:
    assert check_route(spec, as_dict(route)) == []


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"path": "/contacts/{contactId}/notes/x"}, "no such operation"),
        ({"version": "2021-04-15"}, "Version"),
        ({"security": (Security("bearer", ("contacts.write",)),)}, "security"),
        ({"security": (Security("Agency-Access", ("contacts.readonly",)),)}, "security"),
        ({"status": 201}, "success status"),
        ({"operation_id": "get-contacts"}, "operationId"),
        ({"body": "json"}, "the spec declares"),
        ({"scope_fallback": True}, "scope fallback"),
    ],
)
def test_checker_rejects_a_deliberately_wrong_route(
    spec: SpecSet, change: dict[str, Any], complaint: str
) -> None:
    good = next(r for r in ROUTES if key(r) == "GET /contacts/{contactId}")
    assert check_route(spec, as_dict(good)) == []
    problems = check_route(spec, as_dict(replace(good, **change)))
    assert any(complaint in p for p in problems), problems


class Fixture:
    """Ids from the demo world, fetched through the API itself."""

    def __init__(self, standin: StandIn, api: Api) -> None:
        self.standin, self.api = standin, api
        self.contact_id = api.get("/contacts/", params={"locationId": DUBAI, "limit": 1}).json()[
            "contacts"
        ][0]["id"]
        pipeline = api.get("/opportunities/pipelines", params={"locationId": DUBAI}).json()[
            "pipelines"
        ][0]
        self.pipeline_id, self.stage_id = pipeline["id"], pipeline["stages"][1]["id"]
        self.calendar_id = api.get("/calendars/", params={"locationId": DUBAI}).json()["calendars"][
            0
        ]["id"]
        self.opportunity_id = api.get(
            "/opportunities/search", params={"location_id": DUBAI, "limit": 1}
        ).json()["opportunities"][0]["id"]
        self.conversation_id = api.get(
            "/conversations/search", params={"locationId": DUBAI, "limit": 1}
        ).json()["conversations"][0]["id"]
        self.field_id = api.get(f"/locations/{DUBAI}/customFields").json()["customFields"][0]["id"]
        self.user_id = api.get("/users/", params={"locationId": DUBAI}).json()["users"][0]["id"]

    def new_contact(self) -> str:
        body = {"locationId": DUBAI, "firstName": "Nadia", "email": "nadia.k@example.com"}
        return str(self.api.post("/contacts/", json=body).json()["contact"]["id"])

    def appointment(self) -> str:
        slots = self.api.get(f"/calendars/{self.calendar_id}/free-slots", params=week()).json()
        start = next(iter(slots.values()))["slots"][0]
        body = {
            "calendarId": self.calendar_id,
            "locationId": DUBAI,
            "contactId": self.contact_id,
            "startTime": start,
        }
        return str(self.api.post("/calendars/events/appointments", json=body).json()["id"])


def week() -> dict[str, int]:
    import time

    now = int(time.time() * 1000)
    return {"startDate": now, "endDate": now + 7 * 86_400_000}


Request = tuple[str, dict[str, Any] | None, Any]  # (path, query, body)
EXAMPLES: dict[str, Callable[[Fixture], Request]] = {
    "POST /oauth/token": lambda f: (
        "/oauth/token",
        None,
        {
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
            "grant_type": "authorization_code",
            "code": f.standin.install(locationId=DUBAI, emitInstall=False)["code"],
            "user_type": "Location",
        },
    ),
    "POST /oauth/locationToken": lambda f: (
        "/oauth/locationToken",
        None,
        {"companyId": APEX, "locationId": DUBAI},
    ),
    "GET /oauth/installedLocations": lambda f: (
        "/oauth/installedLocations",
        {"companyId": APEX, "appId": DEMO_CLIENT_ID.split("-")[0], "isInstalled": "true"},
        None,
    ),
    "DELETE /marketplace/app/{appId}/installations": lambda f: (
        f"/marketplace/app/{DEMO_CLIENT_ID.split('-')[0]}/installations",
        None,
        {"reason": "test"},
    ),
    "GET /marketplace/app/{appId}/installations": lambda f: (
        f"/marketplace/app/{DEMO_CLIENT_ID.split('-')[0]}/installations",
        None,
        None,
    ),
    "GET /locations/search": lambda f: ("/locations/search", {"companyId": APEX}, None),
    "GET /locations/{locationId}": lambda f: (f"/locations/{DUBAI}", None, None),
    "GET /users/search": lambda f: ("/users/search", {"companyId": APEX}, None),
    "GET /users/": lambda f: ("/users/", {"locationId": DUBAI}, None),
    "GET /users/{userId}": lambda f: (f"/users/{f.user_id}", None, None),
    "GET /locations/{locationId}/customFields": lambda f: (
        f"/locations/{DUBAI}/customFields",
        {"model": "contact"},
        None,
    ),
    "POST /locations/{locationId}/customFields": lambda f: (
        f"/locations/{DUBAI}/customFields",
        None,
        {"name": "Nationality", "dataType": "TEXT", "model": "contact"},
    ),
    "GET /locations/{locationId}/customFields/{id}": lambda f: (
        f"/locations/{DUBAI}/customFields/{f.field_id}",
        None,
        None,
    ),
    "PUT /locations/{locationId}/customFields/{id}": lambda f: (
        f"/locations/{DUBAI}/customFields/{f.field_id}",
        None,
        {"name": "Budget in AED"},
    ),
    "DELETE /locations/{locationId}/customFields/{id}": lambda f: (
        f"/locations/{DUBAI}/customFields/{f.field_id}",
        None,
        None,
    ),
    "POST /contacts/search": lambda f: (
        "/contacts/search",
        None,
        {
            "locationId": DUBAI,
            "pageLimit": 5,
            "filters": [{"field": "tags", "operator": "eq", "value": "buyer"}],
        },
    ),
    "POST /contacts/upsert": lambda f: (
        "/contacts/upsert",
        None,
        {
            "locationId": DUBAI,
            "email": "upsert.me@example.com",
            "firstName": "Omar",
            "customFields": [{"key": "bedrooms", "field_value": 2}],
        },
    ),
    "POST /contacts/": lambda f: (
        "/contacts/",
        None,
        {
            "locationId": DUBAI,
            "firstName": "Zainab",
            "lastName": "Aziz",
            "phone": "+971501112233",
            "tags": ["Investor"],
            "source": "public api",
        },
    ),
    "GET /contacts/": lambda f: ("/contacts/", {"locationId": DUBAI, "limit": 10}, None),
    "GET /contacts/{contactId}": lambda f: (f"/contacts/{f.contact_id}", None, None),
    "PUT /contacts/{contactId}": lambda f: (
        f"/contacts/{f.contact_id}",
        None,
        {"lastName": "Haddad", "tags": ["vip"]},
    ),
    "DELETE /contacts/{contactId}": lambda f: (f"/contacts/{f.new_contact()}", None, None),
    "POST /contacts/{contactId}/tags": lambda f: (
        f"/contacts/{f.contact_id}/tags",
        None,
        {"tags": ["follow up"]},
    ),
    "POST /contacts/{contactId}/notes": lambda f: (
        f"/contacts/{f.contact_id}/notes",
        None,
        {"body": "Paid 1,200.00 AED — invoice in_1"},
    ),
    "GET /contacts/{contactId}/notes": lambda f: (f"/contacts/{f.contact_id}/notes", None, None),
    "DELETE /contacts/{contactId}/tags": lambda f: (
        f"/contacts/{f.contact_id}/tags",
        None,
        {"tags": ["buyer"]},
    ),
    "GET /opportunities/search": lambda f: (
        "/opportunities/search",
        {"location_id": DUBAI, "status": "open", "limit": 5},
        None,
    ),
    "POST /opportunities/search": lambda f: (
        "/opportunities/search",
        None,
        {
            "locationId": DUBAI,
            "query": "",
            "limit": 5,
            "page": 1,
            "searchAfter": [],
            "additionalDetails": {
                "notes": False,
                "tasks": False,
                "calendarEvents": False,
                "unReadConversations": False,
            },
        },
    ),
    "GET /opportunities/pipelines": lambda f: (
        "/opportunities/pipelines",
        {"locationId": DUBAI},
        None,
    ),
    "POST /opportunities/upsert": lambda f: (
        "/opportunities/upsert",
        None,
        {
            "pipelineId": f.pipeline_id,
            "locationId": DUBAI,
            "id": f.opportunity_id,
            "followers": [],
            "isRemoveAllFollowers": False,
            "followersActionType": "add",
            "name": "Upserted deal",
            "status": "open",
            "monetaryValue": 900000,
        },
    ),
    "POST /opportunities/": lambda f: (
        "/opportunities/",
        None,
        {
            "pipelineId": f.pipeline_id,
            "locationId": DUBAI,
            "name": "Marina 2BR",
            "status": "open",
            "contactId": f.new_contact(),
            "monetaryValue": 1850000,
        },
    ),
    "GET /opportunities/{id}": lambda f: (f"/opportunities/{f.opportunity_id}", None, None),
    "PUT /opportunities/{id}": lambda f: (
        f"/opportunities/{f.opportunity_id}",
        None,
        {"pipelineStageId": f.stage_id, "monetaryValue": 2000000},
    ),
    "DELETE /opportunities/{id}": lambda f: (f"/opportunities/{f.opportunity_id}", None, None),
    "PUT /opportunities/{id}/status": lambda f: (
        f"/opportunities/{f.opportunity_id}/status",
        None,
        {"status": "won"},
    ),
    "GET /calendars/": lambda f: ("/calendars/", {"locationId": DUBAI}, None),
    "GET /calendars/events": lambda f: (
        "/calendars/events",
        {
            "locationId": DUBAI,
            "calendarId": f.calendar_id,
            "startTime": week()["startDate"] - 14 * 86_400_000,
            "endTime": week()["endDate"],
        },
        None,
    ),
    "POST /calendars/events/appointments": lambda f: (
        "/calendars/events/appointments",
        None,
        {
            "calendarId": f.calendar_id,
            "locationId": DUBAI,
            "contactId": f.contact_id,
            "startTime": next(
                iter(
                    f.api.get(f"/calendars/{f.calendar_id}/free-slots", params=week())
                    .json()
                    .values()
                )
            )["slots"][0],
            "title": "Viewing",
            "appointmentStatus": "confirmed",
        },
    ),
    "GET /calendars/events/appointments/{eventId}": lambda f: (
        f"/calendars/events/appointments/{f.appointment()}",
        None,
        None,
    ),
    "PUT /calendars/events/appointments/{eventId}": lambda f: (
        f"/calendars/events/appointments/{f.appointment()}",
        None,
        {"title": "Second viewing", "appointmentStatus": "confirmed"},
    ),
    "DELETE /calendars/events/{eventId}": lambda f: (
        f"/calendars/events/{f.appointment()}",
        None,
        {},
    ),
    "GET /calendars/{calendarId}/free-slots": lambda f: (
        f"/calendars/{f.calendar_id}/free-slots",
        week(),
        None,
    ),
    "GET /conversations/search": lambda f: (
        "/conversations/search",
        {"locationId": DUBAI, "limit": 5},
        None,
    ),
    "POST /conversations/messages": lambda f: (
        "/conversations/messages",
        None,
        {"type": "SMS", "contactId": f.contact_id, "message": "Hello from the test"},
    ),
    "POST /conversations/": lambda f: (
        "/conversations/",
        None,
        {"locationId": DUBAI, "contactId": f.new_contact()},
    ),
    "GET /conversations/{conversationId}/messages": lambda f: (
        f"/conversations/{f.conversation_id}/messages",
        {"limit": 5},
        None,
    ),
}
COMPANY_ROUTES = {
    "POST /oauth/locationToken",
    "GET /oauth/installedLocations",
    "GET /locations/search",
    "GET /users/search",
}


def test_every_route_has_an_example() -> None:
    assert sorted(EXAMPLES) == sorted(key(r) for r in ROUTES)


@pytest.mark.parametrize("route", ROUTES, ids=key)
def test_example_request_and_response_follow_the_spec(
    ghl_standin: StandIn, spec: SpecSet, api_for: Any, route: ApiRoute
) -> None:
    location_api = api_for(location_id=DUBAI)
    fixture = Fixture(ghl_standin, location_api)
    api = api_for(company_id=APEX) if key(route) in COMPANY_ROUTES else location_api
    path, query, body = EXAMPLES[key(route)](fixture)

    kwargs: dict[str, Any] = {"params": query}
    if route.body == "form":
        kwargs["data"] = body
        kwargs["headers"] = {"Content-Type": "application/x-www-form-urlencoded"}
    elif body is not None:
        validator = spec.request_validator(route.spec, route.method, route.path, "application/json")
        assert validator is not None, "route reads JSON but the spec has no JSON body"
        assert nest_messages(list(validator.iter_errors(body))) == [], "example is not spec-valid"
        kwargs["content"] = json.dumps(body)
        kwargs["headers"] = {"Content-Type": "application/json"}
    if route.public:
        api = Api(ghl_standin, None)
    response = api.request(route.method, path, **kwargs)

    assert response.status_code == route.status, response.text
    validator = spec.response_validator(route.spec, route.method, route.path, response.status_code)
    if validator is not None:
        errors = sorted(e.message for e in validator.iter_errors(response.json()))
        assert errors == [], errors[:5]
