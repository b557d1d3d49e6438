"""Signing in with a second factor, and a screenshot tour of both demo brands' main pages
(written under test-artifacts/, which git ignores)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time
from pathlib import Path
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.management import call_command
from playwright.sync_api import Page, expect

from tenants import demo
from tenants.models import Agency, Location
from tests.conftest import World
from tests.e2e.test_realms import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def totp_code(secret: str, at: float | None = None) -> str:
    """RFC 6238 (SHA-1, 30 s, 6 digits), written here so the test does not trust allauth's."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = struct.pack(">Q", int(time.time() if at is None else at) // 30)
    digest = hmac.new(key, counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def test_sign_in_with_an_authenticator_app(page: Page, world: World, portal_url: Any) -> None:
    user, location = world.a.client_admin, world.a.locations[0]
    secret = generate_totp_secret()
    TOTP.activate(user, secret)

    sign_in(page, portal_url(world.a.domain, "/accounts/login/"), user.email)
    expect(page).to_have_url(portal_url(world.a.domain, "/accounts/2fa/authenticate/"))
    page.get_by_label("Code").fill("000000" if totp_code(secret) != "000000" else "111111")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Incorrect code")).to_be_visible()

    page.get_by_label("Code").fill(totp_code(secret))
    page.get_by_role("button", name="Sign in").click()
    page.goto(portal_url(world.a.domain, f"/app/l/{location.pk}/"))
    expect(page.locator(".sidenav-title")).to_have_text(location.name)


WORKSPACE_PAGES = ("dashboard", "contacts", "pipeline", "appointments", "routing", "sync",
                   "billing", "team", "settings")  # fmt: skip


def test_screenshots_of_the_demo_brands(page: Page, portal_url: Any, artifacts: Path) -> None:
    call_command("seed_demo", verbosity=0)
    for spec in demo.AGENCIES:  # one test for both: each browser test pays a database flush
        slug = spec["slug"]
        agency = Agency.objects.get(slug=slug)
        domain = f"{slug}.localhost"
        owner = next(email for email, _name, role, _loc in spec["users"] if role == "agency_owner")
        location = Location.objects.for_agency(agency).order_by("name").first()
        assert location is not None
        shots = artifacts / "screens" / slug
        shots.mkdir(parents=True, exist_ok=True)

        page.goto(portal_url(domain, "/accounts/login/"))
        expect(page.locator(".brand-name")).to_have_text(spec["branding"]["display_name"])
        page.screenshot(path=shots / "login.png", full_page=True)

        sign_in(page, portal_url(domain, "/accounts/login/"), owner, demo.DEMO_PASSWORD)
        expect(page).to_have_url(portal_url(domain, "/app/"))
        page.screenshot(path=shots / "home.png", full_page=True)

        page.goto(portal_url(domain, f"/app/l/{location.pk}/"))
        expect(page.locator(".sidenav-title")).to_have_text(location.name)
        page.screenshot(path=shots / "workspace.png", full_page=True)
        for section in WORKSPACE_PAGES:
            page.goto(portal_url(domain, f"/app/l/{location.pk}/{section}/"))
            expect(page.locator(".sidenav [aria-current=page]")).to_be_visible()
            page.screenshot(path=shots / f"{section}.png", full_page=True)

        page.goto(portal_url(domain, "/accounts/2fa/"))
        page.screenshot(path=shots / "two-factor.png", full_page=True)
        for name in ("login", "home", "workspace", "two-factor", *WORKSPACE_PAGES):
            assert (shots / f"{name}.png").stat().st_size > 1000
