"""The stand-in's side of embedded SSO: encrypted user contexts and the CRM frame page."""

from __future__ import annotations

import json

import httpx

from sandbox.ghl import sso
from sandbox.ghl.testing import StandIn
from tests.sandbox.ghl.conftest import APEX, DUBAI

CONTEXT = {
    "userId": "GhlUser0000000000009",
    "companyId": APEX,
    "type": "location",
    "activeLocation": DUBAI,
    "email": "manager@dubaihomes.example",
    "userName": "Sara",
    "role": "admin",
}


def decrypt(payload: str, secret: str) -> dict[str, str]:
    # The product's decryptor is tested against crypto-js; here the stand-in's own round trip.
    from integrations.ghl.sso import sso_payload_decrypt

    return dict(json.loads(sso_payload_decrypt(payload=payload, secret=secret)))


def test_payload_is_the_context_encrypted_with_the_apps_shared_secret(
    ghl_standin: StandIn,
) -> None:
    (app,) = ghl_standin.config()["apps"].values()
    payload = ghl_standin.sso_payload(**CONTEXT)
    assert decrypt(payload, app["sso_shared_secret"]) == CONTEXT
    assert ghl_standin.sso_payload(**CONTEXT) != payload  # a fresh salt every time


def test_an_agency_context_carries_no_active_location(ghl_standin: StandIn) -> None:
    payload = ghl_standin.sso_payload(**(CONTEXT | {"type": "agency"}), secret="s")
    assert "activeLocation" not in decrypt(payload, "s")


def test_frame_page_answers_with_a_payload_for_the_framed_url(ghl_standin: StandIn) -> None:
    url = ghl_standin.sso_frame_url("http://apex.localhost:8000/integrations/sso/ghl/", **CONTEXT)
    page = httpx.get(url, trust_env=False)
    assert page.status_code == 200
    assert 'src="http://apex.localhost:8000/integrations/sso/ghl/"' in page.text
    assert "REQUEST_USER_DATA_RESPONSE" in page.text


def test_frame_page_refuses_a_non_http_url(ghl_standin: StandIn) -> None:
    bad = f"{ghl_standin.base_url}/_sandbox/sso/frame?url=javascript:alert(1)"
    assert httpx.get(bad, trust_env=False).status_code == 400


def test_encrypt_is_deterministic_for_a_given_salt() -> None:
    salt = b"12345678"
    assert sso.encrypt("x", "k", salt=salt) == sso.encrypt("x", "k", salt=salt)
    assert sso.encrypt("x", "k", salt=salt) != sso.encrypt("x", "other", salt=salt)
