"""Fixtures for the stand-in tests: the running stand-in, the specs, API clients, a receiver."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.ghl.spec import SpecSet, find_openapi_dir
from sandbox.ghl.testing import StandIn, WebhookReceiver, version_for

DUBAI = "DemoLocApexDubai0001"
CLINIC = "DemoLocApexClinic001"
PLUMB = "DemoLocBoltPlumb0001"
APEX = "DemoCompanyApex00001"
BOLT = "DemoCompanyBolt00001"


@pytest.fixture(scope="session")
def spec() -> SpecSet:
    root = find_openapi_dir()
    if root is None:
        pytest.fail("GHL OpenAPI schema data not found (sandbox/ghl/openapi or GHL_OPENAPI_DIR)")
    return SpecSet(root)


class Api:
    """An httpx client that adds the right ``Version`` header and a bearer token."""

    def __init__(self, standin: StandIn, token: str | None) -> None:
        self.standin = standin
        self.token = token
        self.http = httpx.Client(base_url=standin.base_url, timeout=30, trust_env=False)

    def headers(self, path: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Version": version_for(path), "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers | (extra or {})

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        return self.http.request(
            method, path, json=json, params=params, headers=self.headers(path, headers), **kwargs
        )

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def api_for(ghl_standin: StandIn) -> Iterator[Any]:
    clients: list[Api] = []

    def make(location_id: str | None = None, company_id: str | None = None, **options: Any) -> Api:
        token = ghl_standin.mint_token(location_id=location_id, company_id=company_id, **options)[
            "access_token"
        ]
        client = Api(ghl_standin, token)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.http.close()


@pytest.fixture
def dubai(api_for: Any) -> Api:
    """A Location token for the demo real-estate location."""
    return api_for(location_id=DUBAI)  # type: ignore[no-any-return]


@pytest.fixture
def receiver(ghl_standin: StandIn) -> Iterator[WebhookReceiver]:
    """A webhook receiver wired in as the demo app's webhook URL."""
    with WebhookReceiver() as hook:
        ghl_standin.set_webhook_url(hook.url)
        yield hook
