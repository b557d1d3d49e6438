"""Contact notes as the contacts spec documents them: 201 with the note, listed newest first,
an empty body refused, another location's contact forbidden."""

from __future__ import annotations

from typing import Any

from tests.sandbox.ghl.conftest import CLINIC, DUBAI, Api


def _contact(api: Api, location_id: str) -> str:
    found = api.get("/contacts/", params={"locationId": location_id, "limit": 1}).json()
    return str(found["contacts"][0]["id"])


def test_a_note_is_added_to_a_contact_and_listed(dubai: Api) -> None:
    contact = _contact(dubai, DUBAI)
    made = dubai.post(f"/contacts/{contact}/notes", json={"body": "Paid 1,200.00 AED"})
    assert made.status_code == 201
    note = made.json()["note"]
    assert (note["body"], note["contactId"]) == ("Paid 1,200.00 AED", contact)
    dubai.post(f"/contacts/{contact}/notes", json={"body": "Second"})
    listed = dubai.get(f"/contacts/{contact}/notes").json()["notes"]
    assert [n["body"] for n in listed] == ["Second", "Paid 1,200.00 AED"]


def test_an_empty_note_or_another_locations_contact_is_refused(dubai: Api, api_for: Any) -> None:
    contact = _contact(dubai, DUBAI)
    assert dubai.post(f"/contacts/{contact}/notes", json={"body": " "}).status_code == 422
    assert dubai.post(f"/contacts/{contact}/notes", json={}).status_code in (400, 422)
    clinic = api_for(location_id=CLINIC)
    other = clinic.post(f"/contacts/{contact}/notes", json={"body": "x"})
    assert other.status_code in (401, 403)
    assert dubai.get(f"/contacts/{contact}/notes").json()["notes"] == []
