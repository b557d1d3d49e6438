"""Fixtures for the integrations: the GHL stand-in wired into the settings, and installs made
through the real OAuth flow against it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from integrations.ghl.models import GhlInstallation
from sandbox.ghl.testing import StandIn
from tenants.models import Location
from tests.integrations.ghl.signing import Signer

APEX = "DemoCompanyApex00001"
BOLT = "DemoCompanyBolt00001"
DUBAI = "DemoLocApexDubai0001"
CLINIC = "DemoLocApexClinic001"
PLUMB = "DemoLocBoltPlumb0001"
COACH = "DemoLocBoltGeneric01"


@pytest.fixture
def ghl(ghl_standin: StandIn, settings: Any) -> Iterator[StandIn]:
    """The stand-in (reset) as this test's GoHighLevel, with a rate-limit key space of its own."""
    pems = ghl_standin.keys()
    settings.GHL_API_BASE = ghl_standin.base_url
    settings.GHL_MARKETPLACE_BASE = ghl_standin.base_url
    settings.GHL_WEBHOOK_ED25519_KEYS = [pems["ed25519"]]
    settings.GHL_WEBHOOK_RSA_KEYS = [pems["rsa"]]
    settings.GHL_RATE_KEY_PREFIX = f"test-rl:{uuid.uuid4().hex}"
    yield ghl_standin


@pytest.fixture
def signer(settings: Any) -> Signer:
    """A GHL webhook signer whose public keys (Ed25519 and RSA) the endpoint trusts."""
    keys = Signer()
    settings.GHL_WEBHOOK_ED25519_KEYS = [keys.ed_public]
    settings.GHL_WEBHOOK_RSA_KEYS = [keys.rsa_public]
    return keys


Installer = Callable[..., GhlInstallation]


@pytest.fixture
def install(ghl: StandIn, db: None, django_capture_on_commit_callbacks: Any) -> Installer:
    """`install(location_id=… | company_id=…, **stand-in options)`: a Marketplace install
    finished through our OAuth callback; returns the installation it made."""

    def run(
        *,
        location_id: str | None = None,
        company_id: str | None = None,
        state: str | None = None,
        **options: Any,
    ) -> GhlInstallation:
        body = {"locationId": location_id, "companyId": company_id, "emitInstall": False}
        started = ghl.install(**{k: v for k, v in body.items() if v is not None}, **options)
        query: dict[str, str] = {"code": started["code"]}
        if state:
            query["state"] = state
        # What runs after the commit (minting agency locations' tokens) runs here too.
        with django_capture_on_commit_callbacks(execute=True):
            response = Client(HTTP_HOST="localhost").get("/integrations/ghl/oauth/callback", query)
        assert response.status_code == 302, response.content.decode()
        return GhlInstallation.objects.unscoped().get(
            ghl_company_id=started["companyId"], ghl_location_id=location_id or ""
        )

    return run


@pytest.fixture
def dubai(install: Installer) -> Location:
    """The Dubai location, installed through the OAuth flow (its backfill ran)."""
    installation = install(location_id=DUBAI)
    assert installation.location is not None
    return installation.location
