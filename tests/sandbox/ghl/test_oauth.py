"""OAuth as GHL does it: consent, code exchange, single-use refresh rotation, location tokens,
installations, and how tokens are bound to a client and a location or company."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from sandbox.ghl.testing import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, StandIn, WebhookReceiver
from tests.sandbox.ghl.conftest import APEX, BOLT, CLINIC, DUBAI, PLUMB, Api

REDIRECT = "http://localhost:8000/integrations/ghl/oauth/callback"
APP_ID = DEMO_CLIENT_ID.split("-")[0]
INVALID_GRANT = {
    "statusCode": 400,
    "message": "Invalid grant: refresh token is invalid",
    "error": "Bad Request",
}


def token_call(standin: StandIn, **form: str) -> httpx.Response:
    body = {"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET} | form
    return standin.http.post("/oauth/token", data=body)


def consent(
    standin: StandIn, form: dict[str, Any], path: str = "/v2/oauth/chooselocation", **query: str
) -> httpx.Response:
    params = {
        "response_type": "code",
        "client_id": DEMO_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": "contacts.readonly contacts.write locations.readonly oauth.write oauth.readonly",
        "state": "csrf-123",
    } | query
    page = standin.http.get(path, params=params)
    assert page.status_code == 200, page.text
    assert "Allow &amp; Install" in page.text
    fields = {k: params[k] for k in ("client_id", "redirect_uri", "scope", "state")} | form
    return standin.http.post(path, data=fields)


def code_from(response: httpx.Response) -> str:
    assert response.status_code == 302, response.text
    target = urlparse(response.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == REDIRECT
    query = parse_qs(target.query)
    assert query["state"] == ["csrf-123"]
    return query["code"][0]


def test_full_dance_location_install(ghl_standin: StandIn) -> None:
    code = code_from(consent(ghl_standin, {"target": f"location:{DUBAI}"}))
    first = token_call(
        ghl_standin,
        grant_type="authorization_code",
        code=code,
        user_type="Location",
        redirect_uri=REDIRECT,
    )
    assert first.status_code == 200, first.text
    pair = first.json()
    assert pair["userType"] == "Location" and pair["locationId"] == DUBAI
    assert pair["companyId"] == APEX and pair["token_type"] == "Bearer"
    assert pair["expires_in"] == 86399 and pair["userId"] == "DemoUserApexOwner001"
    assert (
        pair["scope"] == "contacts.readonly contacts.write locations.readonly oauth.write "
        "oauth.readonly"
    )
    assert pair["access_token"].count(".") == 2  # JWT-shaped

    api = Api(ghl_standin, pair["access_token"])
    assert api.get(f"/locations/{DUBAI}").json()["location"]["id"] == DUBAI

    refreshed = token_call(
        ghl_standin,
        grant_type="refresh_token",
        refresh_token=pair["refresh_token"],
        user_type="Location",
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["refresh_token"] != pair["refresh_token"]
    assert (
        Api(ghl_standin, refreshed.json()["access_token"]).get(f"/locations/{DUBAI}").status_code
        == 200
    )

    reused = token_call(
        ghl_standin, grant_type="refresh_token", refresh_token=pair["refresh_token"]
    )
    assert (reused.status_code, reused.json()) == (400, INVALID_GRANT)
    counters = ghl_standin.counters(DUBAI)
    assert counters["refresh_token_reuse"] == 1
    assert counters["refreshes"] == 1 and counters["token_exchanges"] == 1


def test_legacy_consent_path_and_code_is_single_use(ghl_standin: StandIn) -> None:
    code = code_from(
        consent(ghl_standin, {"target": f"location:{CLINIC}"}, path="/oauth/chooselocation")
    )
    assert token_call(ghl_standin, grant_type="authorization_code", code=code).status_code == 200
    again = token_call(ghl_standin, grant_type="authorization_code", code=code)
    assert again.status_code == 400
    assert again.json()["message"] == "Invalid grant: authorization code is invalid"


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({"redirect_uri": "https://evil.example/cb"}, "not registered"),
        ({"client_id": "nope-123"}, "Unknown client_id"),
        ({"scope": "contacts.readonly saas/company.write"}, "saas/company.write"),
    ],
)
def test_bad_consent_requests_get_an_error_page_not_a_redirect(
    ghl_standin: StandIn, query: dict[str, str], reason: str
) -> None:
    params = {
        "response_type": "code",
        "client_id": DEMO_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": "contacts.readonly",
    } | query
    page = ghl_standin.http.get("/v2/oauth/chooselocation", params=params)
    assert page.status_code == 400 and "location" not in page.headers
    assert reason in page.text
    posted = ghl_standin.http.post(
        "/v2/oauth/chooselocation", data=params | {"target": f"location:{DUBAI}"}
    )
    assert posted.status_code == 400 and "location" not in posted.headers


def test_token_endpoint_rejects_bad_clients_and_grants(ghl_standin: StandIn) -> None:
    wrong = ghl_standin.http.post(
        "/oauth/token",
        data={
            "client_id": DEMO_CLIENT_ID,
            "client_secret": "wrong",
            "grant_type": "refresh_token",
            "refresh_token": "x",
        },
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "Unauthorized"
    bad_grant = token_call(ghl_standin, grant_type="password")
    assert bad_grant.json() == {
        "statusCode": 400,
        "message": "Invalid parameter: grant_type",
        "error": "Bad Request",
    }
    missing = ghl_standin.http.post("/oauth/token", data={"client_id": DEMO_CLIENT_ID})
    assert missing.json()["message"] == "Missing parameter: client_secret"
    forged = token_call(ghl_standin, grant_type="refresh_token", refresh_token="a.b.c")
    assert forged.json() == INVALID_GRANT


def test_paused_location_refresh_fails_then_same_token_works(ghl_standin: StandIn) -> None:
    pair = ghl_standin.mint_token(location_id=PLUMB)
    ghl_standin.pause_location(PLUMB)
    paused = token_call(
        ghl_standin, grant_type="refresh_token", refresh_token=pair["refresh_token"]
    )
    assert (paused.status_code, paused.json()["message"]) == (400, "Location is not active")
    api_call = Api(ghl_standin, pair["access_token"]).get(f"/locations/{PLUMB}")
    assert (api_call.status_code, api_call.json()["message"]) == (401, "Location is not active")
    ghl_standin.pause_location(PLUMB, paused=False)
    resumed = token_call(
        ghl_standin, grant_type="refresh_token", refresh_token=pair["refresh_token"]
    )
    assert resumed.status_code == 200


def test_agency_install_location_tokens_and_installed_locations(
    ghl_standin: StandIn, receiver: WebhookReceiver
) -> None:
    code = code_from(
        consent(ghl_standin, {"target": f"company:{APEX}", "approved": [DUBAI], "future": "1"})
    )
    company = token_call(
        ghl_standin, grant_type="authorization_code", code=code, user_type="Company"
    ).json()
    assert company["userType"] == "Company" and "locationId" not in company
    assert company["approvedLocations"] == [DUBAI] and company["isBulkInstallation"] is True
    assert company["installToFutureLocations"] is True and company["approveAllLocations"] is False

    agency = Api(ghl_standin, company["access_token"])
    minted = agency.post(
        "/oauth/locationToken",
        data={"companyId": APEX, "locationId": DUBAI},
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert minted.status_code == 200, minted.text
    assert minted.json()["locationId"] == DUBAI and minted.json()["appId"] == APP_ID
    assert "refresh_token" in minted.json()
    as_json = agency.post("/oauth/locationToken", json={"companyId": APEX, "locationId": DUBAI})
    assert as_json.status_code == 200
    not_installed = agency.post(
        "/oauth/locationToken", json={"companyId": APEX, "locationId": CLINIC}
    )
    assert not_installed.status_code == 400

    listed = agency.get(
        "/oauth/installedLocations",
        params={"companyId": APEX, "appId": APP_ID, "skip": "0", "limit": "20"},
    )
    rows = {r["_id"]: r["isInstalled"] for r in listed.json()["locations"]}
    assert rows == {DUBAI: True, CLINIC: False}
    assert listed.json()["installToFutureLocations"] is True
    only = agency.get(
        "/oauth/installedLocations",
        params={"companyId": APEX, "appId": APP_ID, "isInstalled": "true"},
    )
    assert [r["_id"] for r in only.json()["locations"]] == [DUBAI]

    # A company token cannot call location-only routes, and may not read another agency.
    contacts = agency.get("/contacts/", params={"locationId": DUBAI})
    assert contacts.status_code == 401 and "authClass" in contacts.json()["message"]
    assert agency.get("/locations/search", params={"companyId": BOLT}).status_code == 403

    installs = ghl_standin.wait_for_webhooks(2, type="INSTALL")
    assert {d["resource"] for d in installs} == {APEX, DUBAI}


def test_location_token_binding_scope_and_expiry(ghl_standin: StandIn, api_for: Any) -> None:
    api = api_for(location_id=DUBAI, scopes=["contacts.readonly", "locations.readonly"])
    other = api.get("/contacts/", params={"locationId": CLINIC})
    assert other.status_code == 403
    assert other.json() == {
        "statusCode": 403,
        "error": "Forbidden",
        "message": "The token does not have access to this location",
    }
    clinic_contact = (
        api_for(location_id=CLINIC)
        .get("/contacts/", params={"locationId": CLINIC, "limit": 1})
        .json()["contacts"][0]["id"]
    )
    assert api.get(f"/contacts/{clinic_contact}").status_code == 403
    assert api.get("/contacts/NoSuchContact0000001").status_code == 404

    write = api.post("/contacts/", json={"locationId": DUBAI, "firstName": "X"})
    assert write.json() == {
        "statusCode": 401,
        "error": "Unauthorized",
        "message": "The token is not authorized for this scope.",
    }

    agency_only = api.get("/oauth/installedLocations", params={"companyId": APEX, "appId": APP_ID})
    assert agency_only.status_code == 401

    ghl_standin.expire_tokens(access_token=api.token)
    expired = api.get(f"/locations/{DUBAI}")
    assert expired.json() == {
        "statusCode": 401,
        "error": "Unauthorized",
        "message": "Invalid token: access token is invalid",
    }


def test_access_tokens_expire_on_compressed_time(ghl_standin: StandIn) -> None:
    ghl_standin.set_config(time_factor=43200.0, access_token_ttl_s=86399)
    pair = ghl_standin.mint_token(location_id=DUBAI)
    assert pair["expires_in"] == 2  # real seconds: a day lasts two seconds here
    api = Api(ghl_standin, pair["access_token"])
    assert api.get(f"/locations/{DUBAI}").status_code == 200
    time.sleep(2.05)
    assert api.get(f"/locations/{DUBAI}").status_code == 401


def test_uninstall_revokes_tokens_and_emits_uninstall(
    ghl_standin: StandIn, receiver: WebhookReceiver
) -> None:
    pair = ghl_standin.mint_token(location_id=DUBAI)
    api = Api(ghl_standin, pair["access_token"])
    details = api.get(f"/marketplace/app/{APP_ID}/installations").json()["installationDetails"]
    assert details["companyName"] == "Apex Growth Partners" and details["isWhitelabelCompany"]
    assert details["whitelabelDetails"]["domain"] == "app.apexgrowth.example"
    assert api.delete(
        f"/marketplace/app/{APP_ID}/installations", json={"reason": "done"}
    ).json() == {"success": True}
    assert api.get(f"/locations/{DUBAI}").status_code == 401
    refresh = token_call(
        ghl_standin, grant_type="refresh_token", refresh_token=pair["refresh_token"]
    )
    assert refresh.json() == INVALID_GRANT
    (event,) = receiver.wait_for(1)
    assert event["headers"]["x-ghl-signature"]
    assert b'"type":"UNINSTALL"' in event["body"] and DUBAI.encode() in event["body"]


def test_install_webhook_payload(ghl_standin: StandIn, receiver: WebhookReceiver) -> None:
    ghl_standin.install(locationId=CLINIC)
    (payload,) = _events(receiver, 1)
    assert payload["type"] == "INSTALL" and payload["appId"] == APP_ID
    assert payload["locationId"] == CLINIC and payload["companyId"] == APEX
    assert payload["installType"] == "Location" and payload["isWhitelabelCompany"] is True
    assert payload["whitelabelDetails"] == {
        "domain": "app.apexgrowth.example",
        "logoUrl": "https://app.apexgrowth.example/assets/logo.png",
    }
    assert payload["companyName"] == "Apex Growth Partners" and payload["versionId"]
    assert {"planId", "trial", "userId", "timestamp", "webhookId"} <= payload.keys()


def _events(receiver: WebhookReceiver, count: int) -> list[dict[str, Any]]:
    receiver.wait_for(count)
    return list(receiver.events())
