"""Resource behaviour: pagination, search, duplicate rules, opportunities, calendars, messages."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.ghl.testing import StandIn
from tests.sandbox.ghl.conftest import APEX, CLINIC, DUBAI, Api


def test_demo_world(api_for: Any) -> None:
    agency = api_for(company_id=APEX)
    names = {
        loc["id"]: loc["name"]
        for loc in agency.get("/locations/search", params={"companyId": APEX}).json()["locations"]
    }
    assert names == {DUBAI: "Dubai Homes Realty", CLINIC: "Harbor Health Clinic"}
    dubai = api_for(location_id=DUBAI)
    location = dubai.get(f"/locations/{DUBAI}").json()["location"]
    assert location["timezone"] == "Asia/Dubai" and location["companyId"] == APEX
    agents = [
        u
        for u in dubai.get("/users/", params={"locationId": DUBAI}).json()["users"]
        if u["roles"]["type"] == "account"
    ]
    assert len(agents) == 12
    users = agency.get("/users/search", params={"companyId": APEX, "limit": "5"}).json()
    assert users["count"] == 12 + 4 + 1 and len(users["users"]) == 5
    contact = dubai.get("/contacts/", params={"locationId": DUBAI, "limit": 1}).json()["contacts"][
        0
    ]
    assert contact["phone"].startswith("+9715") and contact["id"].isalnum()
    assert len(contact["id"]) == 20 and contact["dateAdded"].endswith("Z")


def test_seed_is_deterministic(ghl_standin: StandIn, dubai: Api) -> None:
    first = dubai.get("/contacts/", params={"locationId": DUBAI, "limit": 5}).json()["contacts"]
    ghl_standin.reset()
    again = Api(ghl_standin, ghl_standin.mint_token(location_id=DUBAI)["access_token"])
    assert (
        again.get("/contacts/", params={"locationId": DUBAI, "limit": 5}).json()["contacts"]
        == first
    )


def test_legacy_contact_list_cursor_walks_everything_once(dubai: Api) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"locationId": DUBAI, "limit": 100}
    while True:
        page = dubai.get("/contacts/", params=params).json()
        seen += [c["id"] for c in page["contacts"]]
        meta = page["meta"]
        if not meta["nextPageUrl"]:
            break
        params |= {"startAfter": meta["startAfter"], "startAfterId": meta["startAfterId"]}
    assert len(seen) == len(set(seen)) == 300 == page["count"]
    assert dubai.get("/contacts/", params={"locationId": DUBAI, "limit": 101}).status_code == 422


def test_contact_search_filters_sort_and_search_after(dubai: Api) -> None:
    body = {
        "locationId": DUBAI,
        "pageLimit": 50,
        "filters": [{"field": "tags", "operator": "eq", "value": "buyer"}],
        "sort": [{"field": "firstNameLowerCase", "direction": "asc"}],
    }
    first = dubai.post("/contacts/search", json=body).json()
    assert first["total"] > 0 and all("buyer" in c["tags"] for c in first["contacts"])
    names = [c["firstNameLowerCase"] for c in first["contacts"]]
    assert names == sorted(names)
    everyone: list[str] = [c["id"] for c in first["contacts"]]
    cursor = first["contacts"][-1]["searchAfter"]
    while len(everyone) < first["total"]:
        page = dubai.post("/contacts/search", json=body | {"searchAfter": cursor}).json()
        everyone += [c["id"] for c in page["contacts"]]
        cursor = page["contacts"][-1]["searchAfter"]
    assert len(set(everyone)) == first["total"]
    grouped = dubai.post(
        "/contacts/search",
        json={
            "locationId": DUBAI,
            "pageLimit": 10,
            "filters": [
                {
                    "group": "OR",
                    "filters": [
                        {"field": "city", "operator": "eq", "value": "Dubai Marina"},
                        {"field": "city", "operator": "eq", "value": "Al Majaz"},
                    ],
                }
            ],
        },
    ).json()
    assert {c["city"] for c in grouped["contacts"]} <= {"Dubai Marina", "Al Majaz"}
    assert dubai.post("/contacts/search", json={"locationId": DUBAI}).status_code == 422


def test_create_and_upsert_duplicate_rules(dubai: Api) -> None:
    made = dubai.post(
        "/contacts/",
        json={
            "locationId": DUBAI,
            "firstName": "Rashid",
            "email": "Rashid.K@Example.com",
            "phone": "+971 50 765 4321",
        },
    ).json()["contact"]
    assert made["phone"] == "+971507654321" and made["emailLowerCase"] == "rashid.k@example.com"
    dup = dubai.post("/contacts/", json={"locationId": DUBAI, "email": "rashid.k@example.com"})
    assert dup.status_code == 400
    assert dup.json()["meta"] == {
        "contactName": "Rashid",
        "contactId": made["id"],
        "matchingField": "email",
    }
    upsert = dubai.post(
        "/contacts/upsert", json={"locationId": DUBAI, "phone": "0507654321", "lastName": "Khan"}
    ).json()
    assert upsert["new"] is False and upsert["contact"]["id"] == made["id"]
    assert upsert["contact"]["lastName"] == "Khan" and upsert["traceId"]
    fresh = dubai.post("/contacts/upsert", json={"locationId": DUBAI, "email": "new@x.example"})
    assert fresh.json()["new"] is True


def test_put_replaces_tags_and_tag_endpoints(dubai: Api) -> None:
    cid = dubai.post(
        "/contacts/", json={"locationId": DUBAI, "firstName": "T", "tags": ["A", "b"]}
    ).json()["contact"]["id"]
    assert dubai.post(f"/contacts/{cid}/tags", json={"tags": ["C", "a"]}).json() == {
        "tags": ["a", "b", "c"]
    }
    assert dubai.delete(f"/contacts/{cid}/tags", json={"tags": ["B"]}).json() == {
        "tags": ["a", "c"]
    }
    updated = dubai.put(f"/contacts/{cid}", json={"tags": ["z"]}).json()
    assert updated["succeded"] is True and updated["contact"]["tags"] == ["z"]
    assert dubai.delete(f"/contacts/{cid}").json() == {"succeded": True}
    assert dubai.get(f"/contacts/{cid}").status_code == 404


def test_custom_fields_by_key_on_contacts(dubai: Api) -> None:
    fields = dubai.get(f"/locations/{DUBAI}/customFields").json()["customFields"]
    bedrooms = next(f for f in fields if f["fieldKey"] == "contact.bedrooms")
    cid = dubai.post(
        "/contacts/",
        json={
            "locationId": DUBAI,
            "firstName": "K",
            "customFields": [{"key": "contact.bedrooms", "field_value": 3}],
        },
    ).json()["contact"]["id"]
    stored = dubai.get(f"/contacts/{cid}").json()["contact"]["customFields"]
    assert stored == [{"id": bedrooms["id"], "value": 3}]


def test_opportunity_lifecycle_and_search(dubai: Api) -> None:
    pipeline = dubai.get("/opportunities/pipelines", params={"locationId": DUBAI}).json()[
        "pipelines"
    ][0]
    stage_ids = [s["id"] for s in pipeline["stages"]]
    assert all(len(s) == 36 for s in stage_ids)
    cid = dubai.post("/contacts/", json={"locationId": DUBAI, "firstName": "Opp"}).json()[
        "contact"
    ]["id"]
    body = {
        "pipelineId": pipeline["id"],
        "locationId": DUBAI,
        "name": "JVC studio",
        "status": "open",
        "contactId": cid,
    }
    opp = dubai.post("/opportunities/", json=body).json()["opportunity"]
    assert opp["pipelineStageId"] == stage_ids[0] and opp["contact"]["id"] == cid
    assert dubai.post("/opportunities/", json=body).status_code == 400  # duplicate
    moved = dubai.put(f"/opportunities/{opp['id']}", json={"pipelineStageId": stage_ids[2]})
    assert moved.json()["opportunity"]["pipelineStageId"] == stage_ids[2]
    assert dubai.put(f"/opportunities/{opp['id']}/status", json={"status": "won"}).json() == {
        "succeded": True
    }
    found = dubai.get(
        "/opportunities/search", params={"location_id": DUBAI, "contact_id": cid, "status": "won"}
    ).json()
    assert [o["id"] for o in found["opportunities"]] == [opp["id"]]
    page = dubai.get("/opportunities/search", params={"location_id": DUBAI, "limit": 50}).json()
    assert page["meta"]["total"] == 121 and page["meta"]["nextPage"] == 2
    second = dubai.get(
        "/opportunities/search",
        params={
            "location_id": DUBAI,
            "limit": 50,
            "startAfter": page["meta"]["startAfter"],
            "startAfterId": page["meta"]["startAfterId"],
        },
    ).json()
    assert not {o["id"] for o in second["opportunities"]} & {o["id"] for o in page["opportunities"]}


def test_free_slots_exclude_booked_time(dubai: Api) -> None:
    calendar = dubai.get("/calendars/", params={"locationId": DUBAI}).json()["calendars"][0]
    tz = ZoneInfo("Asia/Dubai")
    day = datetime.now(tz).date() + timedelta(days=1)
    while (day.weekday() + 1) % 7 not in calendar["openHours"][0]["daysOfTheWeek"]:
        day += timedelta(days=1)
    start = int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp() * 1000)
    params = {"startDate": start, "endDate": start + 86_399_000}
    slots = dubai.get(f"/calendars/{calendar['id']}/free-slots", params=params).json()
    before = slots[day.isoformat()]["slots"]
    assert all(s.endswith("+04:00") for s in before)
    cid = dubai.get("/contacts/", params={"locationId": DUBAI, "limit": 1}).json()["contacts"][0][
        "id"
    ]
    booking = {
        "calendarId": calendar["id"],
        "locationId": DUBAI,
        "contactId": cid,
        "startTime": before[0],
    }
    appt = dubai.post("/calendars/events/appointments", json=booking)
    assert appt.status_code == 200 and appt.json()["startTime"] == before[0]
    after = dubai.get(f"/calendars/{calendar['id']}/free-slots", params=params).json()
    assert after[day.isoformat()]["slots"] == before[1:]
    clash = dubai.post("/calendars/events/appointments", json=booking)
    assert clash.json()["message"] == "The slot you have selected is no longer available."
    ny = dubai.get(
        f"/calendars/{calendar['id']}/free-slots", params=params | {"timezone": "America/New_York"}
    ).json()
    assert next(iter(ny.values()))["slots"][0].endswith(("-05:00", "-04:00"))
    too_long = dubai.get(
        f"/calendars/{calendar['id']}/free-slots",
        params={"startDate": start, "endDate": start + 40 * 86_400_000},
    )
    assert too_long.status_code == 400
    cancelled = dubai.put(
        f"/calendars/events/appointments/{appt.json()['id']}",
        json={"appointmentStatus": "cancelled"},
    )
    assert cancelled.status_code == 200
    again = dubai.get(f"/calendars/{calendar['id']}/free-slots", params=params).json()
    assert again[day.isoformat()]["slots"] == before
    assert dubai.delete(f"/calendars/events/{appt.json()['id']}", json={}).json() == {
        "succeeded": True
    }


def test_conversations_flow(dubai: Api) -> None:
    cid = dubai.post(
        "/contacts/", json={"locationId": DUBAI, "firstName": "Msg", "phone": "+971551231234"}
    ).json()["contact"]["id"]
    created = dubai.post("/conversations/", json={"locationId": DUBAI, "contactId": cid})
    assert created.status_code == 201 and created.json()["success"] is True
    conversation_id = created.json()["conversation"]["id"]
    for text in ("one", "two", "three"):
        sent = dubai.post(
            "/conversations/messages", json={"type": "SMS", "contactId": cid, "message": text}
        )
        assert sent.json()["conversationId"] == conversation_id
    page = dubai.get(f"/conversations/{conversation_id}/messages", params={"limit": 2}).json()
    assert [m["body"] for m in page["messages"]] == ["three", "two"] and page["nextPage"]
    rest = dubai.get(
        f"/conversations/{conversation_id}/messages",
        params={"lastMessageId": page["lastMessageId"]},
    ).json()
    assert [m["body"] for m in rest["messages"]] == ["one"] and not rest["nextPage"]
    listed = dubai.get(
        "/conversations/search", params={"locationId": DUBAI, "contactId": cid}
    ).json()
    assert listed["conversations"][0]["lastMessageBody"] == "three"
    no_email = dubai.post(
        "/conversations/messages", json={"type": "Email", "contactId": cid, "html": "<p>x</p>"}
    )
    assert no_email.status_code == 400


def test_hundred_thousand_contacts_stay_fast(ghl_standin: StandIn, dubai: Api) -> None:
    seeded = ghl_standin.seed(CLINIC, seed=7, contacts=100_000)
    assert seeded["created"]["contacts"] == 100_000 and seeded["seconds"] < 10
    clinic = Api(ghl_standin, ghl_standin.mint_token(location_id=CLINIC)["access_token"])
    started = time.perf_counter()
    page = clinic.get("/contacts/", params={"locationId": CLINIC, "limit": 100}).json()
    deep = clinic.get(
        "/contacts/",
        params={
            "locationId": CLINIC,
            "limit": 100,
            "startAfter": page["meta"]["startAfter"],
            "startAfterId": page["meta"]["startAfterId"],
        },
    )
    assert deep.status_code == 200 and time.perf_counter() - started < 0.5
    started = time.perf_counter()
    search = clinic.post(
        "/contacts/search",
        json={
            "locationId": CLINIC,
            "pageLimit": 20,
            "filters": [
                {"field": "city", "operator": "eq", "value": "Brooklyn"},
                {"field": "tags", "operator": "eq", "value": "dental"},
            ],
        },
    )
    elapsed = time.perf_counter() - started
    assert search.status_code == 200 and search.json()["total"] > 1000
    # Speed is measured in bench/ (S3); this only catches a pathological (e.g. quadratic) search.
    assert elapsed < 3, f"search over 100k took {elapsed:.3f}s"
