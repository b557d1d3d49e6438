"""Server-to-server endpoints skip the browser middleware; everything else keeps it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.integrations.ghl.signing import Signer, compact, event

pytestmark = pytest.mark.django_db
WEBHOOK = "/integrations/ghl/webhooks"


def test_a_webhook_is_served_without_the_browser_middleware(settings: Any) -> None:
    signer = Signer()
    settings.GHL_WEBHOOK_ED25519_KEYS = [signer.ed_public]
    body = compact(event("ContactCreate"))
    client = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)
    client.cookies["sessionid"] = "some-session"
    answer = client.post(WEBHOOK, body, content_type="application/json", **signer.headers(body))
    assert answer.status_code == 200
    assert answer.wsgi_request.resolver_match.view_name == "integrations_platform:ghl-webhook"
    # No session, no user, no clickjacking header: that part of the chain never ran ...
    assert not hasattr(answer.wsgi_request, "session")
    assert not hasattr(answer.wsgi_request, "user")
    assert "X-Frame-Options" not in answer.headers
    # ... while the host and security middleware did.
    assert answer.wsgi_request.agency is None
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_other_requests_keep_the_whole_chain() -> None:
    client = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)
    page = client.get("/healthz")
    assert page.headers["X-Frame-Options"] == "DENY"
    assert hasattr(page.wsgi_request, "user")
    # A POST to an ordinary view is still CSRF-checked.
    assert client.post("/admin/login/", {"username": "x", "password": "y"}).status_code == 403


def test_a_get_of_a_machine_endpoint_takes_the_normal_path() -> None:
    answer = Client(HTTP_HOST="localhost").get(WEBHOOK)
    assert answer.status_code == 405
    assert hasattr(answer.wsgi_request, "user")


def test_an_api_call_skips_the_browser_middleware(world: Any) -> None:
    from tests import factories

    key = factories.ApiKeyFactory(agency=world.a.agency)
    client = Client(HTTP_HOST=world.a.domain, HTTP_AUTHORIZATION=f"Bearer {key.raw_key}")
    client.cookies["sessionid"] = "some-session"
    answer = client.get("/api/v1/locations/")
    assert answer.status_code == 200
    assert not hasattr(answer.wsgi_request, "session")
    assert "Vary" not in answer.headers  # no cookie was looked at
    # Host, security and CSP middleware ran; the length is set for keep-alive clients.
    assert answer.wsgi_request.agency == world.a.agency
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in answer.headers
    assert answer.headers["Content-Length"] == str(len(answer.content))


def test_the_api_reference_pages_keep_the_whole_chain(world: Any) -> None:
    page = Client(HTTP_HOST=world.a.domain).get("/api/v1/docs/")
    assert page.status_code == 200
    assert hasattr(page.wsgi_request, "user")
    assert page.headers["X-Frame-Options"] == "DENY"
