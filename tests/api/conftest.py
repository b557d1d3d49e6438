"""API test helpers: a client that speaks JSON with a key on an agency's domain."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tenants import selectors
from tenants.models import Agency, ApiKey
from tests import factories


class ApiClient:
    def __init__(self, agency: Agency, raw_key: str | None) -> None:
        self.client = Client(HTTP_HOST=selectors.agency_primary_domain(agency))
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"} if raw_key else {}

    def get(self, path: str, params: dict[str, Any] | None = None, **extra: Any) -> Any:
        return self.client.get(path, params or {}, **self.headers, **extra)

    def post(self, path: str, body: Any = None, **extra: Any) -> Any:
        data = body if isinstance(body, bytes | str) else json.dumps(body or {})
        return self.client.post(
            path, data, content_type="application/json", **self.headers, **extra
        )

    def patch(self, path: str, body: Any = None, **extra: Any) -> Any:
        return self.client.patch(
            path, json.dumps(body or {}), content_type="application/json", **self.headers, **extra
        )

    def delete(self, path: str, **extra: Any) -> Any:
        return self.client.delete(path, **self.headers, **extra)


MakeKey = Callable[..., ApiKey]


@pytest.fixture
def make_key() -> MakeKey:
    def make(agency: Agency, **kwargs: Any) -> ApiKey:
        return factories.ApiKeyFactory(agency=agency, **kwargs)  # type: ignore[no-any-return]

    return make


@pytest.fixture
def api() -> Callable[..., ApiClient]:
    """`api(key)` → a client on the key's agency domain; `api(key, agency=other)` elsewhere;
    `api(None, agency=a)` without a key."""

    def make(key: ApiKey | None, *, agency: Agency | None = None, raw: str | None = None) -> Any:
        target = agency or (key.agency if key is not None else None)
        assert target is not None
        return ApiClient(target, raw if raw is not None else getattr(key, "raw_key", None))

    return make


def error_of(response: Any) -> dict[str, Any]:
    """The envelope's error object (asserting the shape on the way)."""
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert set(error) <= {"code", "message", "details"}
    return error
