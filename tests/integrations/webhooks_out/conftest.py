"""Fixtures of the outbound webhook tests: a receiver faked with respx on a public address
literal (no DNS; the SSRF guard's connect step is below respx, so its own tests use a real
loopback canary), and endpoints subscribed through the services."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import respx

from integrations.webhooks_out import endpoints
from integrations.webhooks_out.models import WebhookEndpoint
from tenants.models import Location
from tests.conftest import World

RECEIVER = "https://93.184.215.14/hooks"


@pytest.fixture
def receiver() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


def subscribe(
    location: Location, types: list[str] | None = None, url: str = RECEIVER, **kw: Any
) -> WebhookEndpoint:
    return endpoints.endpoint_create(
        agency=location.agency,
        location=location,
        url=url,
        description=kw.pop("description", ""),
        event_types=types or ["contact.created", "contact.updated"],
        acting_user=None,
    )


@pytest.fixture
def location(world: World) -> Location:
    return world.a.locations[0]
