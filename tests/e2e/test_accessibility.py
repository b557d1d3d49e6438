"""axe-core over the portal's main pages, for both demo brands: sign-in, the list of businesses,
every page of a workspace's side navigation, a contact's page and the agency overview. Any
`serious` or `critical` violation fails the test, listed with the page and the elements.

axe is a pinned vendor asset (tools/vendor_assets.py, fetched by `make install`). The portal's
Content-Security-Policy forbids injected scripts, so this test's browser context bypasses CSP —
only to inject axe; the other browser tests keep the policy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect

from tenants import demo
from tenants.models import Agency, Location
from tests.e2e.test_realms import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

AXE = Path(__file__).resolve().parents[2] / "saas_platform" / "static" / "vendor" / "axe.min.js"
BLOCKING = {"serious", "critical"}


@pytest.fixture
def csp_free_page(browser: Browser, browser_context_args: dict[str, Any]) -> Iterator[Page]:
    if not AXE.exists():
        pytest.skip(f"axe-core is missing at {AXE} (run `make install`)")
    context = browser.new_context(**browser_context_args, bypass_csp=True)
    yield context.new_page()
    context.close()


def _violations(page: Page) -> list[str]:
    """axe's serious and critical findings on the page as loaded, one line per rule."""
    page.add_script_tag(path=AXE)
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        f"{page.url} {v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in found
        if v["impact"] in BLOCKING
    ]


def _workspace_pages(page: Page) -> list[str]:
    """Every page the workspace's side navigation links to, and the first contact's page."""
    links = page.locator(".sidenav a[href*='/app/l/']")
    urls = [str(links.nth(i).get_attribute("href")) for i in range(links.count())]
    contacts = next(url for url in urls if url.rstrip("/").endswith("/contacts"))
    page.goto(page.url.split("/app/", 1)[0] + contacts)
    first_contact = page.locator("table.data tbody a").first
    if first_contact.count():
        urls.append(str(first_contact.get_attribute("href")))
    return urls


def test_main_pages_have_no_serious_accessibility_violations(
    csp_free_page: Page, portal_url: Any
) -> None:
    page = csp_free_page
    call_command("seed_demo", verbosity=0)
    problems: list[str] = []
    for spec in demo.AGENCIES:
        slug = spec["slug"]
        domain = f"{slug}.localhost"
        agency = Agency.objects.get(slug=slug)
        location = Location.objects.for_agency(agency).order_by("name").first()
        assert location is not None
        owner = next(email for email, _name, role, _loc in spec["users"] if role == "agency_owner")

        page.goto(portal_url(domain, "/accounts/login/"))
        problems += _violations(page)
        page.keyboard.press("Tab")  # the first stop skips the brand bar and its links
        expect(page.locator(":focus")).to_have_text("Skip to content")
        page.keyboard.press("Enter")
        expect(page.locator("main")).to_be_focused()
        sign_in(page, portal_url(domain, "/accounts/login/"), owner, demo.DEMO_PASSWORD)
        expect(page).to_have_url(portal_url(domain, "/app/"))
        problems += _violations(page)

        page.goto(portal_url(domain, f"/app/l/{location.pk}/"))
        for path in _workspace_pages(page):
            page.goto(portal_url(domain, path))
            problems += _violations(page)

        page.goto(portal_url(domain, "/app/agency/"))
        problems += _violations(page)
        page.context.clear_cookies()

    assert not problems, "\n".join(problems)
