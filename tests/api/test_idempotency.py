"""Idempotency-Key on POST: the same key and body replay the first answer, another body is a
409, and of concurrent requests with one key exactly one executes."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.test import RequestFactory
from rest_framework.request import Request
from rest_framework.response import Response

from saas_platform.kernel.api.errors import ApiError
from saas_platform.kernel.api.idempotency import (
    Claim,
    Replay,
    idempotency_claim,
    idempotency_record,
)
from tests.api.conftest import error_of
from tests.conftest import World


def _request(key: str, body: dict[str, Any]) -> Request:
    raw = RequestFactory().post(
        "/api/v1/x/", json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )
    return Request(raw)


def _attempt(key: str, body: dict[str, Any], owner: str) -> Any:
    try:
        return idempotency_claim(request=_request(key, body), owner=owner)
    except (ApiError, Replay) as exc:
        return exc


@pytest.mark.concurrency
def test_of_concurrent_requests_with_one_key_exactly_one_executes() -> None:
    owner, key = f"test-{uuid.uuid4().hex}", "order-1"
    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(lambda _: _attempt(key, {"a": 1}, owner), range(40)))
    claims = [o for o in outcomes if isinstance(o, Claim)]
    assert len(claims) == 1
    assert all(isinstance(o, ApiError) and o.get_codes() == "idempotency_key_in_use"
               for o in outcomes if not isinstance(o, Claim))  # fmt: skip
    idempotency_record(claim=claims[0], response=Response({"id": 7}, status=201))
    replay = _attempt(key, {"a": 1}, owner)
    assert isinstance(replay, Replay)
    assert replay.response.status_code == 201 and replay.response.data == {"id": 7}


def test_a_server_error_releases_the_key() -> None:
    owner = f"test-{uuid.uuid4().hex}"
    claim = _attempt("k", {}, owner)
    assert isinstance(claim, Claim)
    idempotency_record(claim=claim, response=Response({}, status=500))
    assert isinstance(_attempt("k", {}, owner), Claim)


def test_keys_of_different_api_keys_do_not_meet() -> None:
    assert isinstance(_attempt("same", {}, f"test-{uuid.uuid4().hex}"), Claim)
    assert isinstance(_attempt("same", {}, f"test-{uuid.uuid4().hex}"), Claim)


@pytest.mark.django_db
def test_same_body_replays_and_another_body_is_409(world: World, make_key: Any, api: Any) -> None:
    # Location A1 is not connected: the first answer is a 409 that gets stored like any other.
    key = make_key(world.a.agency)
    client = api(key)
    url = f"/api/v1/locations/{world.a.locations[0].pk}/contacts/"
    body = {"email": "lead@example.test"}
    first = client.post(url, body, HTTP_IDEMPOTENCY_KEY="lead-42")
    assert first.status_code == 409 and error_of(first)["code"] == "location_not_connected"
    again = client.post(url, body, HTTP_IDEMPOTENCY_KEY="lead-42")
    assert again.status_code == 409 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    other = client.post(url, {"email": "other@example.test"}, HTTP_IDEMPOTENCY_KEY="lead-42")
    assert other.status_code == 409
    assert error_of(other)["code"] == "idempotency_key_reused"
    assert "Idempotent-Replayed" not in client.post(url, body)  # no key: no replay


@pytest.mark.django_db
def test_an_overlong_key_is_400(world: World, make_key: Any, api: Any) -> None:
    key = make_key(world.a.agency)
    url = f"/api/v1/locations/{world.a.locations[0].pk}/contacts/"
    response = api(key).post(url, {"email": "a@b.test"}, HTTP_IDEMPOTENCY_KEY="x" * 300)
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_idempotency_key"
