"""The stand-in's route table: every GHL operation it serves (checked against the specs)."""

from __future__ import annotations

from sandbox.ghl.api import (
    accounts,
    calendars,
    contacts,
    conversations,
    custom_fields,
    notes,
    opportunities,
)
from sandbox.ghl.oauth import endpoints as oauth_endpoints
from sandbox.ghl.pipeline import ApiRoute


def api_routes() -> list[ApiRoute]:
    return [
        *oauth_endpoints.routes(),
        *accounts.routes(),
        *custom_fields.routes(),
        *contacts.routes(),
        *notes.routes(),
        *opportunities.routes(),
        *calendars.routes(),
        *conversations.routes(),
    ]
