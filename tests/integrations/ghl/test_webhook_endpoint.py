"""The GHL webhook endpoint: signatures checked first and failing closed, durable before 2xx,
exactly one row per event, 429 (never 5xx) when it cannot store."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.test import Client

from integrations.inbox.models import InboundEvent
from tests.integrations.ghl.signing import Signer, compact, event

pytestmark = pytest.mark.django_db
URL = "/integrations/ghl/webhooks"


def post(body: bytes, headers: dict[str, str], content_type: str = "application/json") -> Any:
    return Client(HTTP_HOST="localhost").post(URL, body, content_type=content_type, **headers)


def test_a_signed_event_is_stored_once_and_processed(signer: Signer) -> None:
    body = compact(event("ContactCreate", locationId="Loc1", id="c1"))
    first = post(body, signer.headers(body))
    again = post(body, signer.headers(body))
    assert (first.status_code, first.json()) == (200, {"status": "accepted"})
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    row = InboundEvent.objects.get()
    assert bytes(row.body) == body and row.signature_kind == "ed25519"
    assert (row.event_type, row.location_id) == ("ContactCreate", "Loc1")


def test_rsa_is_the_fallback_only_when_ed25519_is_absent(signer: Signer) -> None:
    body = compact(event("ContactCreate", locationId="Loc1"))
    assert post(body, signer.headers(body, ed=False)).status_code == 200
    assert InboundEvent.objects.get().signature_kind == "rsa"
    other = compact(event("ContactCreate", locationId="Loc1"))
    bad_ed = {"HTTP_X_GHL_SIGNATURE": signer.ed_sign(b"something else")}
    # A wrong Ed25519 signature is not rescued by a valid RSA one.
    response = post(other, {**signer.headers(other, ed=False), **bad_ed})
    assert response.status_code == 401
    assert InboundEvent.objects.count() == 1


def test_two_keys_are_accepted_during_a_key_change(signer: Signer, settings: Any) -> None:
    new = Signer()
    settings.GHL_WEBHOOK_ED25519_KEYS = [new.ed_public, signer.ed_public]
    for keys in (signer, new):
        body = compact(event("ContactCreate"))
        assert post(body, keys.headers(body, rsa_too=False)).status_code == 200


def _tampered(signer: Signer) -> Iterator[tuple[str, bytes, dict[str, str]]]:
    body = compact(event("ContactCreate", locationId="Loc1", email="a@b.c"))
    good = signer.headers(body)
    yield "unsigned", body, {}
    yield "N/A signature", body, {"HTTP_X_GHL_SIGNATURE": "N/A"}
    yield "not base64", body, {"HTTP_X_GHL_SIGNATURE": "%%%not-base64%%%"}
    yield "empty", body, {"HTTP_X_GHL_SIGNATURE": " "}
    yield "truncated body", body[:-5], good
    yield "appended byte", body + b" ", good
    yield "re-serialized", json.dumps(json.loads(body), indent=1).encode(), good
    yield "changed field", body.replace(b"a@b.c", b"x@b.c"), good
    yield "signature of another body", body, signer.headers(b"{}")
    yield "short signature", body, {"HTTP_X_GHL_SIGNATURE": base64.b64encode(b"x" * 10).decode()}
    yield "key of a stranger", body, Signer().headers(body)


@pytest.mark.parametrize("case", range(11))
def test_forged_or_tampered_deliveries_are_401_and_store_nothing(signer: Signer, case: int) -> None:
    name, body, headers = list(_tampered(signer))[case]
    response = post(body, headers)
    assert response.status_code == 401, name
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (b"not json at all", 400),
        (b"[1, 2, 3]", 400),
        (b"\xff\xfe\x00 invalid utf-8", 400),
        (compact({"type": "ContactCreate"}), 400),  # no webhookId
        (compact({"webhookId": "w1"}), 400),  # no type
        (compact(event("ContactCreate", appId="someone-elses-app")), 403),
        (b'{"type":"X","webhookId":"w","a":' + b"[" * 5000 + b"]" * 5000 + b"}", 400),
    ],
)
def test_signed_but_malformed_payloads_are_refused(
    signer: Signer, payload: bytes, status: int
) -> None:
    response = post(payload, signer.headers(payload))
    assert response.status_code == status
    assert not InboundEvent.objects.exists()


def test_size_and_content_type_are_checked(signer: Signer, settings: Any) -> None:
    body = compact(event("ContactCreate"))
    assert post(body, signer.headers(body), content_type="text/plain").status_code == 415
    settings.GHL_WEBHOOK_MAX_BYTES = 100
    big = compact(event("ContactCreate", note="x" * 500))
    assert post(big, signer.headers(big)).status_code == 413
    assert Client(HTTP_HOST="localhost").get(URL).status_code == 405
    assert not InboundEvent.objects.exists()


def test_the_endpoint_lives_only_on_the_platform_host(signer: Signer, world: Any) -> None:
    body = compact(event("ContactCreate"))
    response = Client(HTTP_HOST=world.a.domain).post(
        URL, body, content_type="application/json", **signer.headers(body)
    )
    assert response.status_code == 404


def test_when_the_database_cannot_store_the_answer_is_429(signer: Signer) -> None:
    body = compact(event("ContactCreate"))
    with connection.cursor() as cursor:  # the inbox refuses every row (rolled back after)
        cursor.execute(
            "ALTER TABLE integrations_inboundevent ADD CONSTRAINT refuse CHECK (false) NOT VALID"
        )
    response = post(body, signer.headers(body))
    assert response.status_code == 429 and response["Retry-After"] == "60"


@pytest.mark.parametrize(("depth", "status"), [(31, 200), (32, 400), (60, 400)])
def test_nesting_is_limited_at_32_levels_with_the_object_itself(
    signer: Signer, depth: int, status: int
) -> None:
    # The event object is level 1; `depth` more arrays inside it.
    head = compact(event("ContactCreate"))[:-1] + b',"deep":'
    body = head + b"[" * depth + b"]" * depth + b"}"
    assert post(body, signer.headers(body)).status_code == status
    assert InboundEvent.objects.count() == (1 if status == 200 else 0)


@pytest.mark.django_db(transaction=True)
def test_a_kept_alive_connection_that_died_is_replaced_without_losing_the_event(
    signer: Signer,
) -> None:
    first = compact(event("ContactCreate"))
    assert post(first, signer.headers(first)).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
    # The server drops the connection between two requests (a restart, an idle timeout).
    dsn, password = connection.connection.info.dsn, connection.settings_dict["PASSWORD"] or None
    with psycopg.connect(dsn, password=password, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend])
    second = compact(event("ContactCreate"))
    response = post(second, signer.headers(second))
    assert (response.status_code, response.json()) == (200, {"status": "accepted"})
    assert InboundEvent.objects.count() == 2
