"""The WSGI fast path of the webhook (what gunicorn serves): the same answers as the Django view
for every delivery of the hostile corpus, everything else handed to Django, and a 429 — never a
500 — whatever goes wrong."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test import Client

from integrations.ghl.receiver import WEBHOOK_PATH, WebhookFastPath
from integrations.inbox.models import InboundEvent
from tests.integrations.ghl.signing import Signer, compact, event
from tests.integrations.inbox.corpus import hostile_deliveries, valid_events

pytestmark = pytest.mark.django_db(transaction=True)


class Unreadable(io.BytesIO):
    def read(self, *_: Any) -> bytes:
        raise AssertionError("the body was read although its declared size is over the cap")


def call(
    body: bytes,
    headers: dict[str, str] | None = None,
    *,
    method: str = "POST",
    host: str = "localhost",
    path: str = WEBHOOK_PATH,
    content_type: str = "application/json",
    stream: io.BytesIO | None = None,
) -> tuple[int, dict[str, str], bytes]:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "443",
        "HTTP_HOST": host,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": stream or io.BytesIO(body),
        "wsgi.url_scheme": "https",
        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in (headers or {}).items()},
    }
    seen: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], *_: Any) -> None:
        seen["status"], seen["headers"] = int(status.split()[0]), dict(response_headers)

    chunks = WebhookFastPath(WSGIHandler())(environ, start_response)
    content = b"".join(chunks)
    getattr(chunks, "close", lambda: None)()
    return seen["status"], seen["headers"], content


def test_a_signed_event_is_stored_once(signer: Signer) -> None:
    body = compact(event("ContactCreate", locationId="Loc1", id="c1"))
    headers = {"X-GHL-Signature": signer.ed_sign(body)}
    status, response_headers, content = call(body, headers)
    assert (status, content) == (200, b'{"status":"accepted"}')
    assert response_headers["Content-Length"] == str(len(content))
    assert response_headers["X-Content-Type-Options"] == "nosniff"
    assert call(body, headers)[::2] == (200, b'{"status":"duplicate"}')
    row = InboundEvent.objects.get()
    assert bytes(row.body) == body and row.location_id == "Loc1"


def test_it_answers_the_hostile_corpus_as_the_django_view_does(signer: Signer) -> None:
    corpus = list(hostile_deliveries(signer, valid_events(40)))
    assert len(corpus) > 200
    fast = [
        call(d.body, d.headers, method=d.method, host=d.host, content_type=d.content_type)[0]
        for d in corpus
    ]
    assert fast == [d.expected for d in corpus]
    assert InboundEvent.objects.count() == 0
    client = Client()
    through_django = [
        client.generic(
            d.method, WEBHOOK_PATH, d.body, content_type=d.content_type,
            headers={"Host": d.host, **d.headers},
        ).status_code
        for d in corpus
    ]  # fmt: skip
    assert through_django == fast


def test_other_requests_are_django_s(signer: Signer, world: Any) -> None:
    body = compact(event("ContactCreate"))
    headers = {"X-GHL-Signature": signer.ed_sign(body)}
    assert call(body, headers, host=world.a.domain)[0] == 404  # not on an agency's domain
    assert call(b"", method="GET")[0] == 405
    assert call(b"", method="GET", path="/healthz")[0] == 200
    assert not InboundEvent.objects.exists()


def test_an_oversized_body_is_refused_unread(signer: Signer, settings: Any) -> None:
    settings.GHL_WEBHOOK_MAX_BYTES = 100
    body = compact(event("ContactCreate", note="x" * 500))
    status, _, _ = call(body, {"X-GHL-Signature": signer.ed_sign(body)}, stream=Unreadable())
    assert status == 413 and not InboundEvent.objects.exists()


@pytest.fixture
def inbox_refusing_rows() -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE integrations_inboundevent ADD CONSTRAINT refuse CHECK (false) NOT VALID"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE integrations_inboundevent DROP CONSTRAINT refuse")


def test_when_the_event_cannot_be_stored_the_answer_is_429(
    signer: Signer, inbox_refusing_rows: None
) -> None:
    body = compact(event("ContactCreate"))
    status, headers, _ = call(body, {"X-GHL-Signature": signer.ed_sign(body)})
    assert (status, headers["Retry-After"]) == (429, "60")


def test_a_crash_is_a_429_so_ghl_retries_never_a_500(signer: Signer, settings: Any) -> None:
    settings.GHL_WEBHOOK_MAX_BYTES = None  # a broken deployment: comparing to it raises
    body = compact(event("ContactCreate"))
    status, headers, _ = call(body, {"X-GHL-Signature": signer.ed_sign(body)})
    assert (status, headers["Retry-After"]) == (429, "60")
    assert not InboundEvent.objects.exists()
