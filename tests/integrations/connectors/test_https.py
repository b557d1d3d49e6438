"""The generic HTTPS connector, at the wire: respx answers in place of the endpoint. Hosts are
public IP literals, so the SSRF guard (which resolves names) has nothing to look up offline."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx
from standardwebhooks import Webhook

from integrations.connectors.base import (
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorError,
    ConnectorSettings,
    ConnectorUnavailable,
    OutboundRecord,
    connector_class,
)
from integrations.connectors.https import SHAPE_ERROR, HttpsConnector

PUSH = "https://93.184.215.14/hook"
PULL = "https://93.184.215.14/contacts"
SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
TOKEN = "tok_live_0123456789abcdef"


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []
    monkeypatch.setattr(HttpsConnector, "sleep", recorded.append)
    return recorded


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


def connector(**config: Any) -> HttpsConnector:
    settings = ConnectorSettings(
        config={"push_url": PUSH, "pull_url": PULL, **config},
        credentials={"signing_secret": SECRET, "bearer_token": TOKEN},
        fields=["email", "name"],
    )
    return HttpsConnector(settings)


def spec_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    """Standard Webhooks, written out from the spec (not through the package)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def assert_signed(request: httpx.Request) -> dict[str, Any]:
    headers = request.headers
    msg_id, stamp = headers["webhook-id"], headers["webhook-timestamp"]
    assert abs(int(stamp) - time.time()) < 60
    expected = spec_signature(SECRET, msg_id, stamp, request.content)
    assert hmac.compare_digest(headers["webhook-signature"], expected)
    payload = Webhook(SECRET).verify(request.content, dict(headers))
    assert payload == json.loads(request.content)
    assert headers["content-type"] == "application/json"
    assert "authorization" not in headers  # the bearer token is for pulls only
    return dict(payload)


def test_registered_under_its_kind() -> None:
    assert connector_class("https") is HttpsConnector
    assert HttpsConnector.label == "HTTPS endpoint (JSON)"


def test_new_secret_is_a_standard_webhooks_secret() -> None:
    secret = HttpsConnector.new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:], validate=True)) == 32
    assert secret != HttpsConnector.new_secret()
    HttpsConnector.validate({"push_url": PUSH}, {"signing_secret": secret})
    assert HttpsConnector.with_secret({})["signing_secret"].startswith("whsec_")
    assert HttpsConnector.with_secret({"signing_secret": SECRET}) == {"signing_secret": SECRET}


def test_upsert_posts_a_signed_batch_and_returns_keys_in_order(
    router: respx.MockRouter,
) -> None:
    route = router.post(PUSH).respond(204)
    records = [
        OutboundRecord(key="c-1", fields={"email": "a@x.test", "name": "A"}),
        OutboundRecord(key=None, fields={"email": "b@x.test", "name": None}),
    ]
    with connector() as conn:
        keys = conn.upsert(records)
    assert route.call_count == 1
    payload = assert_signed(route.calls.last.request)
    assert payload["type"] == "contacts.upsert"
    assert datetime.fromisoformat(payload["timestamp"]).tzinfo is not None
    assert keys[0] == "c-1" and len(keys[1]) == 32 and int(keys[1], 16) >= 0
    assert payload["data"] == [
        {"id": "c-1", "email": "a@x.test", "name": "A"},
        {"id": keys[1], "email": "b@x.test", "name": None},
    ]


def test_upsert_uses_the_configured_key_field(router: respx.MockRouter) -> None:
    route = router.post(PUSH).respond(200, json={"ok": True})
    with connector(key_field="ref") as conn:
        keys = conn.upsert([OutboundRecord(key=None, fields={"ref": "ignored", "email": "c@x"})])
    data = assert_signed(route.calls.last.request)["data"]
    assert data == [{"ref": keys[0], "email": "c@x"}]


def test_delete_posts_the_keys(router: respx.MockRouter) -> None:
    route = router.post(PUSH).respond(200)
    with connector() as conn:
        conn.delete(["c-1", "c-2"])
        conn.delete([])  # nothing to send
    assert route.call_count == 1
    payload = assert_signed(route.calls.last.request)
    assert payload["type"] == "contacts.delete"
    assert payload["data"] == {"keys": ["c-1", "c-2"]}


def test_503_is_retried_with_the_same_batch_id(
    router: respx.MockRouter, waits: list[float]
) -> None:
    route = router.post(PUSH)
    route.side_effect = [httpx.Response(503), httpx.Response(502), httpx.Response(200)]
    with connector() as conn:
        assert conn.upsert([OutboundRecord(key=None, fields={"email": "a@x"})])
    requests = [call.request for call in route.calls]
    assert len(requests) == 3
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    assert len({r.content for r in requests}) == 1  # the very same bytes, new keys included
    for request in requests:
        assert_signed(request)
    assert len(waits) == 2 and 0 < waits[0] <= waits[1] <= HttpsConnector.max_backoff


def test_each_batch_has_its_own_id(router: respx.MockRouter) -> None:
    route = router.post(PUSH).respond(200)
    with connector() as conn:
        conn.delete(["a"])
        conn.delete(["a"])
    ids = {call.request.headers["webhook-id"] for call in route.calls}
    assert len(ids) == 2


def test_429_waits_as_long_as_retry_after_says(
    router: respx.MockRouter, waits: list[float]
) -> None:
    route = router.post(PUSH)
    route.side_effect = [httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200)]
    with connector() as conn:
        conn.delete(["a"])
    assert route.call_count == 2
    assert len(waits) == 1 and 7 <= waits[0] < 8


def test_a_retry_after_too_long_fails_the_run_retryably(
    router: respx.MockRouter, waits: list[float]
) -> None:
    router.post(PUSH).respond(429, headers={"Retry-After": "3600"})
    with connector() as conn, pytest.raises(ConnectorUnavailable, match="3600 seconds") as info:
        conn.delete(["a"])
    assert info.value.retryable and waits == []


def test_timeouts_are_retried(router: respx.MockRouter, waits: list[float]) -> None:
    route = router.get(PULL)
    route.side_effect = [
        httpx.ReadTimeout("slow"),
        httpx.Response(200, json={"records": [], "next_cursor": None, "has_more": False}),
    ]
    with connector() as conn:
        assert conn.changes(None).records == []
    assert route.call_count == 2 and len(waits) == 1


def test_retries_are_bounded(router: respx.MockRouter, waits: list[float]) -> None:
    route = router.post(PUSH).respond(503, text="busy")
    with connector() as conn, pytest.raises(ConnectorUnavailable, match="HTTP 503") as info:
        conn.upsert([OutboundRecord(key="k", fields={})])
    assert info.value.retryable
    assert route.call_count == HttpsConnector.attempts
    assert len(waits) == HttpsConnector.attempts - 1


def test_4xx_is_surfaced_with_an_excerpt_and_no_secret(
    router: respx.MockRouter, waits: list[float]
) -> None:
    body = f"Unprocessable: field email invalid. Your secret {SECRET} token {TOKEN}\n" + "x" * 5000
    route = router.post(PUSH).respond(422, text=body)
    with connector() as conn, pytest.raises(ConnectorError) as info:
        conn.upsert([OutboundRecord(key="k", fields={"email": "nope"})])
    message = info.value.message
    assert not isinstance(info.value, ConnectorUnavailable) and not info.value.retryable
    assert "HTTP 422" in message and "field email invalid" in message
    assert SECRET not in message and SECRET[6:] not in message and TOKEN not in message
    assert "[redacted]" in message and len(message) < 300
    assert route.call_count == 1 and waits == []


def test_push_401_is_an_auth_error(router: respx.MockRouter) -> None:
    router.post(PUSH).respond(401, json={"error": "bad signature"})
    with connector() as conn, pytest.raises(ConnectorAuthError, match=r"signature.*401"):
        conn.delete(["a"])


def test_redirects_are_not_followed(router: respx.MockRouter) -> None:
    router.post(PUSH).respond(307, headers={"Location": "https://10.0.0.5/"})
    target = router.post("https://10.0.0.5/").respond(200)
    with connector() as conn, pytest.raises(ConnectorConfigError, match="redirect"):
        conn.delete(["a"])
    assert not target.called


def page(records: list[dict[str, Any]], cursor: str | None, more: bool) -> dict[str, Any]:
    return {"records": records, "next_cursor": cursor, "has_more": more}


def test_pull_pages_through_the_cursor(router: respx.MockRouter) -> None:
    pages = {
        None: page(
            [
                {"id": "c-1", "updated_at": "2025-03-01T10:00:00Z", "email": "a@x", "n": 1},
                {"id": 2, "updated_at": None, "email": "b@x", "vip": True},
            ],
            "p2",
            True,
        ),
        "p2": page([{"id": "c-3", "updated_at": "2025-03-02T10:00:00+02:00"}], "p3", True),
        "p3": page([], "p4", False),
    }

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.url.params["limit"] == "2"
        assert request.url.params["static"] == "1"  # the URL's own query is kept
        return httpx.Response(200, json=pages[request.url.params.get("cursor")])

    route = router.get(url__startswith=PULL).mock(side_effect=answer)
    seen, cursor = [], None
    with connector(pull_url=PULL + "?static=1") as conn:
        while True:
            result = conn.changes(cursor, limit=2)
            seen += result.records
            cursor = result.cursor
            if not result.more:
                break
    assert route.call_count == 3 and cursor == "p4"
    assert "cursor" not in route.calls[0].request.url.params
    assert [r.key for r in seen] == ["c-1", "2", "c-3"]
    assert seen[0].fields == {"email": "a@x", "n": 1}
    assert seen[1].fields == {"email": "b@x", "vip": True} and seen[1].modified_at is None
    assert seen[0].modified_at == datetime(2025, 3, 1, 10, tzinfo=UTC)
    assert seen[2].modified_at == datetime(2025, 3, 2, 8, tzinfo=UTC)
    assert seen[2].modified_at.utcoffset() is not None


def test_a_null_next_cursor_keeps_the_current_one(router: respx.MockRouter) -> None:
    router.get(url__startswith=PULL).respond(200, json=page([], None, False))
    with connector() as conn:
        result = conn.changes("p9")
    assert result.cursor == "p9" and not result.more


def test_deleted_keys_are_passed_on(router: respx.MockRouter) -> None:
    router.get(url__startswith=PULL).respond(200, json={**page([], "c", False), "deleted": [7]})
    with connector() as conn:
        assert conn.changes(None).deleted == ["7"]


def test_find_uses_the_pull(router: respx.MockRouter) -> None:
    records = [{"id": "1", "email": "a@x"}, {"id": "2", "email": "b@x"}]
    router.get(url__startswith=PULL).respond(200, json=page(records, "c", False))
    with connector() as conn:
        assert [r.key for r in conn.find("email", "b@x")] == ["2"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"<html>oops</html>", "not valid JSON"),
        (b'{"records": [], "has_more": NaN, "next_cursor": null}', "not valid JSON"),
        (b"[]", "not a JSON object"),
        (b'{"has_more": false, "next_cursor": null}', '"records"'),
        (b'{"records": {}, "has_more": false, "next_cursor": null}', '"records"'),
        (b'{"records": [], "next_cursor": null}', '"has_more"'),
        (b'{"records": [], "has_more": "no", "next_cursor": null}', '"has_more"'),
        (b'{"records": [], "has_more": false}', '"next_cursor"'),
        (b'{"records": [], "has_more": false, "next_cursor": 3}', '"next_cursor"'),
        (b'{"records": [], "has_more": true, "next_cursor": null}', "does not move on"),
        (b'{"records": [], "has_more": true, "next_cursor": "same"}', "does not move on"),
        (b'{"records": [1], "has_more": false, "next_cursor": null}', "record 1 is not"),
        (b'{"records": [{"email": "a"}], "has_more": false, "next_cursor": null}', '"id"'),
        (b'{"records": [{"id": true}], "has_more": false, "next_cursor": null}', '"id"'),
        (
            b'{"records": [{"id": "1", "a": {"b": 1}}], "has_more": false, "next_cursor": null}',
            '"a"',
        ),
        (
            b'{"records": [{"id": "1", "updated_at": 5}], "has_more": false, "next_cursor": null}',
            "ISO",
        ),
        (
            b'{"records": [{"id": "1", "updated_at": "yesterday"}], "has_more": false, '
            b'"next_cursor": null}',
            "ISO",
        ),
        (
            b'{"records": [{"id": "1", "updated_at": "2025-03-01T10:00:00"}], "has_more": false, '
            b'"next_cursor": null}',
            "time zone",
        ),
        (b'{"records": [], "has_more": false, "next_cursor": null, "deleted": "x"}', '"deleted"'),
    ],
)
def test_malformed_pull_answers_are_refused(
    router: respx.MockRouter, body: bytes, detail: str
) -> None:
    router.get(url__startswith=PULL).respond(200, content=body)
    with connector() as conn, pytest.raises(ConnectorConfigError) as info:
        conn.changes("same")
    assert info.value.message.startswith(SHAPE_ERROR)
    assert detail in info.value.message


def test_oversized_pull_answers_are_refused(
    router: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(HttpsConnector, "max_response_bytes", 1024)
    big = page([{"id": str(i), "name": "x" * 50} for i in range(100)], None, False)
    router.get(url__startswith=PULL).respond(200, json=big)
    with connector() as conn, pytest.raises(ConnectorConfigError, match="answered more than"):
        conn.changes(None)


def test_oversized_streamed_answers_are_refused(
    router: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(HttpsConnector, "max_response_bytes", 1024)
    chunks = (b" " * 100 for _ in range(50))  # no Content-Length: counted as it arrives
    router.get(url__startswith=PULL).mock(return_value=httpx.Response(200, content=chunks))
    with connector() as conn, pytest.raises(ConnectorConfigError, match="answered more than"):
        conn.changes(None)


def test_pull_401_is_an_auth_error(router: respx.MockRouter) -> None:
    router.get(url__startswith=PULL).respond(401, text=f"bad token {TOKEN}")
    with connector() as conn, pytest.raises(ConnectorAuthError) as info:
        conn.changes(None)
    assert "bearer token" in info.value.message and TOKEN not in info.value.message


def test_check_pulls_one_record_and_pings_signed(router: respx.MockRouter) -> None:
    pull = router.get(url__startswith=PULL).respond(200, json=page([{"id": "1"}], "c", True))
    push = router.post(PUSH).respond(200)
    with connector() as conn:
        conn.check()
    assert pull.calls.last.request.url.params["limit"] == "1"
    payload = assert_signed(push.calls.last.request)
    assert payload["type"] == "ping" and payload["data"] == []


def test_check_reports_a_refused_ping(router: respx.MockRouter) -> None:
    router.post(PUSH).respond(403)
    settings = ConnectorSettings({"push_url": PUSH}, {"signing_secret": SECRET}, [])
    with HttpsConnector(settings) as conn, pytest.raises(ConnectorAuthError, match="403"):
        conn.check()


def test_check_reports_a_pull_that_breaks_the_contract(router: respx.MockRouter) -> None:
    router.get(url__startswith=PULL).respond(200, json={"items": []})
    settings = ConnectorSettings({"pull_url": PULL}, {}, [])
    with HttpsConnector(settings) as conn, pytest.raises(ConnectorConfigError, match=SHAPE_ERROR):
        conn.check()


def test_one_way_connections(router: respx.MockRouter) -> None:
    push_only = HttpsConnector(
        ConnectorSettings({"push_url": PUSH}, {"signing_secret": SECRET}, [])
    )
    assert push_only.changes("c").records == [] and push_only.changes("c").cursor == "c"
    pull_only = HttpsConnector(ConnectorSettings({"pull_url": PULL}, {}, []))
    with pytest.raises(ConnectorConfigError, match="no push URL"):
        pull_only.upsert([OutboundRecord(key=None, fields={})])
    assert not router.calls


def test_validate_accepts_a_public_https_endpoint() -> None:
    HttpsConnector.validate({"push_url": PUSH, "pull_url": PULL}, {"signing_secret": SECRET})
    HttpsConnector.validate({"pull_url": PULL, "key_field": "ref"}, {"bearer_token": TOKEN})


@pytest.mark.parametrize(
    ("config", "credentials", "message"),
    [
        ({}, {}, "push URL, a pull URL or both"),
        ({"push_url": "http://93.184.215.14/hook"}, {}, "https://"),
        ({"pull_url": "ftp://93.184.215.14/x"}, {}, "https://"),
        ({"push_url": "https://127.0.0.1/x"}, {}, "private"),
        ({"pull_url": "https://10.0.0.5/"}, {}, "private"),
        ({"push_url": "https://[::1]/x"}, {}, "private"),
        ({"push_url": "https://user:pw@93.184.215.14/x"}, {}, "user name or password"),
        ({"push_url": "https:///x"}, {}, "host"),
        ({"push_url": 5}, {}, "must be a URL"),
        ({"push_url": PUSH, "key_field": ""}, {}, "key field"),
        ({"push_url": PUSH, "key_field": "ts", "modified_field": "ts"}, {}, "must differ"),
        ({"push_url": PUSH}, {"signing_secret": "secret"}, "whsec_"),
        ({"push_url": PUSH}, {"signing_secret": "whsec_!!!"}, "base64"),
        ({"push_url": PUSH}, {"signing_secret": "whsec_c2hvcnQ="}, "too short"),
        ({"pull_url": PULL}, {"bearer_token": "a\nb"}, "printable"),
    ],
)
def test_validate_refuses(
    config: dict[str, Any], credentials: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConnectorConfigError) as info:
        HttpsConnector.validate(config, credentials)
    assert message.lower() in info.value.message.lower()
