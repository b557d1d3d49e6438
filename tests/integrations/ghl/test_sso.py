"""Embedded SSO: crypto-js compatible decryption, the mapping rules and the sign-in endpoint."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.test import Client

from integrations.ghl import sso
from integrations.ghl.embedding import SESSION_EMBEDDED_KEY
from sandbox.ghl.sso import encrypt, encrypted_context
from sandbox.ghl.testing import StandIn
from tenants import selectors
from tenants.models import Membership, User
from tests.conftest import Tenant, World

SECRET = "sandbox-only-sso-shared-secret"
VECTORS = json.loads((Path(__file__).parent / "vectors" / "crypto_js_sso.json").read_text())
SIGN_IN = "/integrations/sso/ghl/sign-in/"


def context(tenant: Tenant, user: User, **overrides: Any) -> dict[str, Any]:
    data = {
        "userId": "GhlUser0000000000001",
        "companyId": tenant.agency.ghl_company_id,
        "role": "user",
        "type": "location",
        "activeLocation": tenant.locations[0].ghl_location_id,
        "userName": user.full_name or "Someone",
        "email": user.email,
    }
    return data | overrides


def client_for(tenant: Tenant) -> Client:
    # A fresh address per client: failure counters are per address and live in Redis.
    address = f"127.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    return Client(HTTP_HOST=tenant.domain, REMOTE_ADDR=address)


def post(client: Client, tenant: Tenant, payload: str) -> Any:
    return client.post(SIGN_IN, {"payload": payload}, HTTP_ORIGIN=f"http://{tenant.domain}")


# --- decryption -----------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=["location", "agency"])
def test_decrypts_what_crypto_js_encrypted(vector: dict[str, str]) -> None:
    plaintext = sso.sso_payload_decrypt(payload=vector["payload"], secret=VECTORS["secret"])
    assert plaintext.decode() == vector["plaintext"]


def test_decrypts_what_the_stand_in_encrypted() -> None:
    text = '{"email":"zoë@example.com"}' * 5
    assert sso.sso_payload_decrypt(payload=encrypt(text, "k"), secret="k").decode() == text


def test_key_derivation_and_cipher_match_openssl() -> None:
    # `openssl enc -aes-256-cbc -md md5 -k secret -S 0102030405060708 -P` prints this key and IV;
    # without -P, "hello" encrypts to the ciphertext below.
    salt = bytes(range(1, 9))
    key, iv = sso.evp_bytes_to_key(secret=b"secret", salt=salt)
    assert key.hex().upper() == "C9E5A1BD216DBE1317E230CEF48F38EE7F0E17AD64022144BCCEC4A1AA2879AB"
    assert iv.hex().upper() == "E24B32BBBC4EF02ECBCB6576523AD893"
    openssl = base64.b64encode(b"Salted__" + salt + base64.b64decode("3i9NAfiMYun5ZqTVWsy3jw=="))
    assert encrypt("hello", "secret", salt=salt) == openssl.decode()
    assert sso.sso_payload_decrypt(payload=openssl.decode(), secret="secret") == b"hello"


def test_wrong_secret_is_refused() -> None:
    vector = VECTORS["vectors"][0]
    with pytest.raises(sso.SsoPayloadInvalid):
        sso.sso_context_parse(
            plaintext=sso.sso_payload_decrypt(payload=vector["payload"], secret="not-the-secret")
        )


@pytest.mark.parametrize(
    "payload",
    ["", "not base64 !!", "aGVsbG8=", encrypt("x", "k")[:-8] + "AAAAAAA=", "A" * 9000],
    ids=["empty", "garbage", "no-salt-header", "truncated", "huge"],
)
def test_garbage_is_refused(payload: str) -> None:
    with pytest.raises(sso.SsoError):
        sso.sso_context_parse(plaintext=sso.sso_payload_decrypt(payload=payload, secret="k"))


@pytest.mark.parametrize(
    "plaintext",
    [
        b"[]",
        b'{"type":"location","email":"a@b.c","companyId":"C","userId":"U"}',  # no activeLocation
        b'{"type":"agency","companyId":"C","userId":"U"}',  # no email
        b'{"type":"admin","email":"a@b.c","companyId":"C","userId":"U"}',
        b'{"type":"agency","email":"a@b.c","companyId":7,"userId":"U"}',
        b"\xff\xfe",
    ],
)
def test_contexts_missing_fields_are_refused(plaintext: bytes) -> None:
    with pytest.raises(sso.SsoPayloadInvalid):
        sso.sso_context_parse(plaintext=plaintext)


# --- the endpoint ---------------------------------------------------------------------------------


def test_location_user_lands_in_their_workspace(world: World) -> None:
    client = client_for(world.a)
    response = post(
        client, world.a, encrypted_context(context(world.a, world.a.client_admin), SECRET)
    )
    assert response.status_code == 302
    assert response["Location"] == f"/app/l/{world.a.locations[0].pk}/"
    assert client.session["_auth_user_id"] == str(world.a.client_admin.pk)
    assert client.session[SESSION_EMBEDDED_KEY] is True
    cookie = response.cookies["sessionid"]
    assert cookie["samesite"] == "None" and cookie["secure"]
    assert cookie.OutputString().endswith("; Partitioned")
    workspace = client.get(response["Location"], follow=True)  # on to its first page
    assert workspace.status_code == 200
    # The embedded session's pages may be framed by the CRM (and only by it).
    assert "X-Frame-Options" not in workspace
    policy = workspace["Content-Security-Policy"]
    assert policy.count("frame-ancestors") == 1 and "frame-ancestors 'self' https://" in policy
    assert "script-src 'self'" in policy  # the rest of the site-wide policy is kept


def test_agency_user_lands_on_the_portal_home(world: World) -> None:
    data = context(world.a, world.a.staff, type="agency", activeLocation=None)
    response = post(client_for(world.a), world.a, encrypted_context(data, SECRET))
    assert response.status_code == 302 and response["Location"] == "/app/"


def test_other_agencys_company_on_this_domain_is_refused(world: World) -> None:
    data = context(world.b, world.b.client_admin)
    client = client_for(world.a)
    response = post(client, world.a, encrypted_context(data, SECRET))
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_location_of_another_agency_is_not_found(world: World) -> None:
    data = context(
        world.a, world.a.client_admin, activeLocation=world.b.locations[0].ghl_location_id
    )
    assert post(client_for(world.a), world.a, encrypted_context(data, SECRET)).status_code == 404


def test_wrong_secret_signs_nobody_in(world: World) -> None:
    client = client_for(world.a)
    data = context(world.a, world.a.client_admin)
    response = post(client, world.a, encrypted_context(data, "someone-elses-secret"))
    assert response.status_code == 401
    assert "_auth_user_id" not in client.session
    assert "sessionid" not in response.cookies


def test_a_payload_works_once(world: World) -> None:
    payload = encrypted_context(context(world.a, world.a.client_admin), SECRET)
    assert post(client_for(world.a), world.a, payload).status_code == 302
    assert post(client_for(world.a), world.a, payload).status_code == 401


def test_location_context_never_signs_in_an_agency_person(world: World) -> None:
    # A sub-account admin in the CRM could add a user with the agency owner's address.
    data = context(world.a, world.a.owner)
    assert post(client_for(world.a), world.a, encrypted_context(data, SECRET)).status_code == 403


def test_client_of_another_location_is_refused(world: World) -> None:
    data = context(world.a, world.a.client_member)  # a member of locations[1], not [0]
    assert post(client_for(world.a), world.a, encrypted_context(data, SECRET)).status_code == 403


def test_new_address_joins_only_where_the_agency_allows_it(world: World) -> None:
    data = context(
        world.a, world.a.client_admin, email="newcomer@example.com", userName="New Comer"
    )
    world.a.agency.allow_self_signup = True  # a different setting: open sign-up is not SSO join
    world.a.agency.save()
    assert post(client_for(world.a), world.a, encrypted_context(data, SECRET)).status_code == 403
    assert selectors.user_find(agency=world.a.agency, email="newcomer@example.com") is None

    world.a.agency.allow_sso_join = True
    world.a.agency.save()
    response = post(client_for(world.a), world.a, encrypted_context(data, SECRET))
    assert response.status_code == 302
    user = selectors.user_find(agency=world.a.agency, email="newcomer@example.com")
    assert user is not None and not user.has_usable_password()
    assert user.full_name == "New Comer"
    membership = Membership.objects.for_agency(world.a.agency).get(user=user)
    assert membership.role == Membership.Role.CLIENT_MEMBER
    assert membership.location == world.a.locations[0]


def test_new_agency_user_joins_as_staff_where_allowed(world: World) -> None:
    data = context(world.a, world.a.staff, type="agency", email="teammate@a.example")
    assert post(client_for(world.a), world.a, encrypted_context(data, SECRET)).status_code == 403

    world.a.agency.allow_sso_join = True
    world.a.agency.save()
    response = post(client_for(world.a), world.a, encrypted_context(data, SECRET))
    assert response.status_code == 302 and response["Location"] == "/app/"
    user = selectors.user_find(agency=world.a.agency, email="teammate@a.example")
    membership = Membership.objects.for_agency(world.a.agency).get(user=user)
    assert membership.role == Membership.Role.AGENCY_STAFF and membership.location is None


def test_existing_accounts_are_never_widened(world: World) -> None:
    world.a.agency.allow_sso_join = True
    world.a.agency.save()
    # A client asking in as an agency user, and a client of one location asking for the other.
    as_agency = context(world.a, world.a.client_admin, type="agency")
    other_location = context(world.a, world.a.client_member)
    for data in (as_agency, other_location):
        response = post(client_for(world.a), world.a, encrypted_context(data, SECRET))
        assert response.status_code == 403
    assert (
        Membership.objects.for_agency(world.a.agency).filter(user=world.a.client_admin).count() == 1
    )
    assert (
        Membership.objects.for_agency(world.a.agency).filter(user=world.a.client_member).count()
        == 1
    )


def test_cross_site_post_is_refused(world: World) -> None:
    payload = encrypted_context(context(world.a, world.a.client_admin), SECRET)
    client = client_for(world.a)
    response = client.post(SIGN_IN, {"payload": payload}, HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


def test_failures_are_rate_limited(world: World, settings: Any) -> None:
    settings.GHL_SSO_MAX_FAILURES = 2
    client = client_for(world.a)
    for _ in range(2):
        assert post(client, world.a, encrypted_context({}, "wrong")).status_code in (400, 401)
    good = encrypted_context(context(world.a, world.a.client_admin), SECRET)
    assert post(client, world.a, good).status_code == 429


def test_unconfigured_secret_is_a_clear_error(world: World, settings: Any) -> None:
    settings.GHL_SSO_SHARED_SECRET = ""
    payload = encrypted_context(context(world.a, world.a.client_admin), SECRET)
    assert post(client_for(world.a), world.a, payload).status_code == 503


def test_sso_page_may_be_framed_by_the_crm_only(world: World) -> None:
    response = client_for(world.a).get("/integrations/sso/ghl/")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert (
        "frame-ancestors 'self' https://app.gohighlevel.com" in response["Content-Security-Policy"]
    )
    assert b'src="/static/integrations/sso_embed.js"' in response.content


def test_ordinary_sessions_stay_unframeable(world: World, agency_client: Any) -> None:
    response = agency_client(world.a, world.a.client_admin).get("/app/")
    assert response["X-Frame-Options"] == "DENY"


def test_stand_in_serves_payloads_and_the_crm_frame(world: World, ghl_standin: StandIn) -> None:
    data = context(world.a, world.a.client_admin)
    payload = ghl_standin.sso_payload(**data)
    plaintext = sso.sso_payload_decrypt(payload=payload, secret=SECRET)
    assert sso.sso_context_parse(plaintext=plaintext).email == world.a.client_admin.email
    url = ghl_standin.sso_frame_url(f"http://{world.a.domain}/integrations/sso/ghl/", **data)
    html = httpx.get(url, trust_env=False).text
    assert "REQUEST_USER_DATA_RESPONSE" in html and "/integrations/sso/ghl/" in html
