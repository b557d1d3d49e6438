"""Bad input is answered the way GHL documents it (the error envelope) and stores nothing."""

from __future__ import annotations

import pytest
from jsonschema import Draft7Validator

from sandbox.ghl.spec import SpecSet, nest_messages
from sandbox.ghl.testing import StandIn
from tests.sandbox.ghl.conftest import DUBAI, Api


def contact_count(api: Api) -> int:
    return int(api.get("/contacts/", params={"locationId": DUBAI, "limit": 1}).json()["count"])


def test_malformed_json_is_400_and_stores_nothing(dubai: Api) -> None:
    before = contact_count(dubai)
    response = dubai.post(
        "/contacts/",
        content=b'{"locationId": "DemoLocApexDubai0001",',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["statusCode"] == 400 and body["error"] == "Bad Request"
    assert body["message"].startswith("Unexpected token in JSON")
    assert contact_count(dubai) == before


def test_wrong_content_type_is_400(dubai: Api) -> None:
    before = contact_count(dubai)
    response = dubai.post(
        "/contacts/",
        content=b"locationId=DemoLocApexDubai0001&firstName=A",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400 and "Content-Type" in response.json()["message"]
    assert contact_count(dubai) == before


def test_schema_violations_are_422_with_a_message_array(dubai: Api) -> None:
    before = contact_count(dubai)
    response = dubai.post("/contacts/", json={"firstName": 7, "tags": "vip", "dnd": "yes"})
    assert response.status_code == 422
    assert response.json() == {
        "statusCode": 422,
        "error": "Unprocessable Entity",
        "message": [
            "dnd must be a boolean",
            "firstName must be a string",
            "locationId should not be empty",
            "tags must be an array",
        ],
    }
    enum = dubai.put("/opportunities/x/status", json={"status": "closed"})
    assert enum.status_code == 422 and enum.json()["message"] == [
        "status must be one of the following values: open, won, lost, abandoned, all"
    ]
    assert contact_count(dubai) == before


def test_unknown_fields_rejected_in_whitelist_mode(ghl_standin: StandIn, dubai: Api) -> None:
    body = {"locationId": DUBAI, "firstName": "Ali", "customField": {"x": 1}}
    assert dubai.post("/contacts/", json=body).status_code == 201  # spec allows extras
    ghl_standin.set_config(reject_unknown_fields=True)
    before = contact_count(dubai)
    rejected = dubai.post("/contacts/", json=body | {"email": "ali2@example.com"})
    assert rejected.status_code == 422
    assert rejected.json()["message"] == ["property customField should not exist"]
    assert contact_count(dubai) == before


def test_additional_properties_false_is_enforced(spec: SpecSet) -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "additionalProperties": False,
    }
    errors = list(Draft7Validator(schema).iter_errors({"a": "x", "b": 1}))
    assert nest_messages(errors) == ["property b should not exist"]


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"Version": "2021-04-15"}, "Version header is invalid; expected 2021-07-28"),
        ({"Version": ""}, "Version header is invalid; expected 2021-07-28"),
    ],
)
def test_wrong_version_header(dubai: Api, headers: dict[str, str], message: str) -> None:
    response = dubai.get(f"/locations/{DUBAI}", headers=headers)
    assert response.json() == {"statusCode": 400, "message": message, "error": "Bad Request"}


def test_missing_version_header(ghl_standin: StandIn, dubai: Api) -> None:
    response = ghl_standin.http.get(
        "/calendars/",
        params={"locationId": DUBAI},
        headers={"Authorization": f"Bearer {dubai.token}"},
    )
    assert response.json() == {
        "statusCode": 400,
        "message": "Version header is required",
        "error": "Bad Request",
    }
    wrong = dubai.get(
        "/calendars/", params={"locationId": DUBAI}, headers={"Version": "2021-07-28"}
    )
    assert wrong.json()["message"] == "Version header is invalid; expected 2021-04-15"


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer eyJhbGciOiJIUzI1NiJ9.eyJhdXRoQ2xhc3MiOiJMb2NhdGlvbiJ9.c2lnbmF0dXJl",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "",
    ],
)
def test_forged_or_missing_tokens_are_401(
    ghl_standin: StandIn, dubai: Api, authorization: str
) -> None:
    tampered = dubai.token[:-4] + ("AAAA" if not dubai.token.endswith("AAAA") else "BBBB")
    for value in (authorization, f"Bearer {tampered}"):
        response = ghl_standin.http.get(
            f"/locations/{DUBAI}", headers={"Version": "2021-07-28", "Authorization": value}
        )
        assert response.json() == {
            "statusCode": 401,
            "error": "Unauthorized",
            "message": "Invalid token: access token is invalid",
        }
        assert "x-ratelimit-remaining" not in response.headers


def test_unknown_route_is_nest_style_404(dubai: Api) -> None:
    response = dubai.get("/contacts/abc/nope")
    assert response.json() == {
        "statusCode": 404,
        "message": "Cannot GET /contacts/abc/nope",
        "error": "Not Found",
    }


def test_trailing_slash_tolerance(dubai: Api) -> None:
    assert dubai.get("/contacts", params={"locationId": DUBAI}).status_code == 200
    assert dubai.get(f"/locations/{DUBAI}/").status_code == 200
