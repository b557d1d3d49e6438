"""Each agency's portal in a real browser: its own brand, and sessions that stay on its domain."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import World
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in(page: Page, url: str, email: str, password: str = TEST_PASSWORD) -> None:
    page.goto(url)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_login_pages_carry_their_agencys_brand(page: Page, world: World, portal_url: Any) -> None:
    page.goto(portal_url(world.a.domain, "/accounts/login/"))
    expect(page.locator(".brand-name")).to_have_text("Brand A")
    expect(page.locator("body")).not_to_contain_text("Brand B")

    page.goto(portal_url(world.b.domain, "/accounts/login/"))
    expect(page.locator(".brand-name")).to_have_text("Brand B")
    expect(page.locator("body")).not_to_contain_text("Brand A")


def test_session_cookie_of_a_is_refused_on_b(page: Page, world: World, portal_url: Any) -> None:
    sign_in(page, portal_url(world.a.domain, "/accounts/login/"), world.a.owner.email)
    expect(page).to_have_url(portal_url(world.a.domain, "/app/"))

    # Carry A's session cookie over to B's domain, as a thief or a misconfigured proxy would.
    session = next(c for c in page.context.cookies() if c["name"] == "sessionid")
    page.context.add_cookies(
        [{"name": "sessionid", "value": session["value"], "url": portal_url(world.b.domain)}]
    )
    page.goto(portal_url(world.b.domain, "/app/"))
    expect(page).to_have_url(portal_url(world.b.domain, "/accounts/login/?next=/app/"))
    expect(page.locator(".brand-name")).to_have_text("Brand B")

    # The server ended that session on sight, so it no longer opens A's portal either.
    page.goto(portal_url(world.a.domain, "/app/"))
    expect(page).to_have_url(portal_url(world.a.domain, "/accounts/login/?next=/app/"))
