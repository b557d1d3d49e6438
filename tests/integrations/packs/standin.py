"""Reading the GHL stand-in's side of a pack activation: its custom fields and the create calls
it was sent."""

from __future__ import annotations

from typing import Any

import httpx

from sandbox.ghl.testing import StandIn
from tests.integrations.conftest import DUBAI

FIELDS_PATH = "/locations/{location}/customFields"


def ghl_fields(ghl: StandIn, location: str = DUBAI) -> list[dict[str, Any]]:
    """The location's contact custom fields, as GHL lists them."""
    token = ghl.mint_token(location_id=location)["access_token"]
    path = FIELDS_PATH.format(location=location)
    answer = httpx.get(
        ghl.base_url + path,
        params={"model": "contact"},
        headers=ghl.api_headers(token, path),
        timeout=30,
    )
    answer.raise_for_status()
    fields: list[dict[str, Any]] = answer.json()["customFields"]
    return fields


def ghl_field_create(ghl: StandIn, name: str, data_type: str, location: str = DUBAI) -> str:
    """A field someone made in GHL by hand; returns its id."""
    token = ghl.mint_token(location_id=location)["access_token"]
    path = FIELDS_PATH.format(location=location)
    answer = httpx.post(
        ghl.base_url + path,
        json={"name": name, "dataType": data_type},
        headers=ghl.api_headers(token, path),
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["customField"]["id"])


def creates(ghl: StandIn, location: str = DUBAI, since: int = 0) -> list[dict[str, Any]]:
    """The custom-field create calls the stand-in answered (any status)."""
    path = FIELDS_PATH.format(location=location)
    return [
        r
        for r in ghl.requests(location, limit=10_000, since=since)
        if r["method"] == "POST" and r["path"].rstrip("/") == path
    ]


def last_seq(ghl: StandIn, location: str = DUBAI) -> int:
    return max((r["seq"] for r in ghl.requests(location, limit=10_000)), default=0)
