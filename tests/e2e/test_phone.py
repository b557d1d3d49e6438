"""The portal on a phone (375 by 812 pixels, a small iPhone): every main workspace page and the
agency pages fit the screen's width (nothing scrolls sideways but a table, inside its own box),
the navigation can be opened and used, and the keyboard reaches it. Screenshots of each page go
under test-artifacts/phone/ (git-ignored)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect

from tenants import demo
from tenants.models import Agency, Location
from tests import factories
from tests.e2e.test_realms import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 375, "height": 812}
WORKSPACE_PAGES = ("dashboard", "contacts", "pipeline", "appointments", "routing", "sync",
                   "billing", "team", "settings")  # fmt: skip
AGENCY_PAGES = ("", "reports/", "branding/", "domains/", "billing/plans/")

# A phone browser widens its layout viewport (and zooms out) to fit a page that overflows, so the
# width is the phone's, passed in, and a wider innerWidth is itself the overflow. Elements inside a
# box that scrolls sideways (a table, the pipeline board, the side navigation) are that box's.
LAYOUT_PROBLEMS = """(width) => {
  const scroller = (e) => {
    for (let box = e.parentElement; box && box !== document.body; box = box.parentElement) {
      const overflow = getComputedStyle(box).overflowX;
      if (overflow === 'auto' || overflow === 'scroll') return box;
    }
    return null;
  };
  const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (
    typeof e.className === 'string' && e.className ? '.' + e.className.split(' ').join('.') : '');
  const problems = [];
  if (window.innerWidth !== width || document.documentElement.scrollWidth > window.innerWidth) {
    const wide = [...document.querySelectorAll('body *')]
      .filter(e => e.getBoundingClientRect().right > width + 1 && !scroller(e))
      .slice(-4).map(name);
    problems.push(`the page is ${document.documentElement.scrollWidth}px wide: ${wide.join(', ')}`);
  }
  for (const table of document.querySelectorAll('main table')) {
    const box = getComputedStyle(table).overflowX === 'auto' ? table : scroller(table);
    if (box ? box.getBoundingClientRect().right > width + 1
            : table.getBoundingClientRect().right > width + 1) {
      problems.push(`${name(table)} is wider than the screen and does not scroll in its box`);
    }
  }
  return problems;
}"""


@pytest.fixture
def phone(browser: Browser, browser_context_args: dict[str, Any]) -> Iterator[Page]:
    context = browser.new_context(
        **{**browser_context_args, "viewport": PHONE}, is_mobile=True, has_touch=True
    )
    yield context.new_page()
    context.close()


def _check(page: Page, shots: Path, name: str, problems: list[str]) -> None:
    page.screenshot(path=shots / f"{name}.png", full_page=True)
    problems += [
        f"{name} ({page.url}): {p}" for p in page.evaluate(LAYOUT_PROBLEMS, PHONE["width"])
    ]


def _open_menu(page: Page) -> None:
    toggle = page.locator(".menu-toggle")
    expect(toggle).to_be_visible()
    if toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")


def test_the_portal_fits_a_phone(phone: Page, portal_url: Any, artifacts: Path) -> None:
    page = phone
    call_command("seed_demo", verbosity=0)
    spec = demo.AGENCIES[0]
    slug = spec["slug"]
    domain = f"{slug}.localhost"
    agency = Agency.objects.get(slug=slug)
    location = Location.objects.for_agency(agency).order_by("name").first()
    assert location is not None
    # Long words are what push a narrow page sideways: an e-mail address is one.
    factories.MirrorContactFactory.create_batch(3, location=location)
    factories.MirrorContactFactory(
        location=location,
        first_name="Maximiliana",
        last_name="Featherstonehaugh-Montgomery",
        email="maximiliana.featherstonehaugh-montgomery@really-long-company-name.example",
        tags=["returning-customer", "newsletter"],
    )
    owner = next(email for email, _name, role, _loc in spec["users"] if role == "agency_owner")
    shots = artifacts / "phone" / slug
    shots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []

    page.goto(portal_url(domain, "/accounts/login/"))
    _check(page, shots, "login", problems)
    sign_in(page, portal_url(domain, "/accounts/login/"), owner, demo.DEMO_PASSWORD)
    expect(page).to_have_url(portal_url(domain, "/app/"))
    _check(page, shots, "home", problems)

    # The account links sit behind the menu button; opened, each one is on screen.
    _open_menu(page)
    for name in ("Email", "Password", "Two-factor", "Sessions", "Sign out"):
        link = (
            page.locator("#site-nav")
            .get_by_role("link", name=name)
            .or_(page.locator("#site-nav").get_by_role("button", name=name))
        )
        expect(link).to_be_in_viewport()
    _check(page, shots, "menu-open", problems)
    page.locator(".menu-toggle").click()
    expect(page.locator("#site-nav")).to_be_hidden()

    base = f"/app/l/{location.pk}/"
    for section in WORKSPACE_PAGES:
        page.goto(portal_url(domain, base + f"{section}/"))
        current = page.locator(".sidenav [aria-current=page]")
        current.scroll_into_view_if_needed()
        expect(current).to_be_in_viewport()
        _check(page, shots, section, problems)
        if section == "contacts":
            first = page.locator("table.data tbody a").first
            contact = first.get_attribute("href")
    assert contact, "the demo has contacts"
    page.goto(portal_url(domain, contact))
    _check(page, shots, "contact", problems)

    # Every workspace page is a tap away: the side navigation scrolls sideways inside itself.
    links = page.locator(".sidenav li a")
    assert links.count() >= len(WORKSPACE_PAGES)
    for i in range(links.count()):
        links.nth(i).scroll_into_view_if_needed()
        expect(links.nth(i)).to_be_in_viewport()

    for path in AGENCY_PAGES:
        page.goto(portal_url(domain, f"/app/agency/{path}"))
        expect(page.locator(".sidenav [aria-current=page]")).to_be_attached()
        _check(page, shots, "agency-" + (path.strip("/").replace("/", "-") or "overview"), problems)

    assert not problems, "\n".join(problems)


def test_the_keyboard_reaches_the_navigation_on_a_phone(phone: Page, portal_url: Any) -> None:
    page = phone
    call_command("seed_demo", verbosity=0)
    spec = demo.AGENCIES[0]
    domain = f"{spec['slug']}.localhost"
    owner = next(email for email, _name, role, _loc in spec["users"] if role == "agency_owner")
    agency = Agency.objects.get(slug=spec["slug"])
    location = Location.objects.for_agency(agency).order_by("name").first()
    assert location is not None
    sign_in(page, portal_url(domain, "/accounts/login/"), owner, demo.DEMO_PASSWORD)
    page.goto(portal_url(domain, f"/app/l/{location.pk}/contacts/"))

    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")
    seen: list[str] = []
    for _step in range(12):  # the brand, the menu button, then the side navigation
        page.keyboard.press("Tab")
        seen.append(page.evaluate("document.activeElement.outerHTML.slice(0, 80)"))
        if page.evaluate("document.activeElement.matches('.menu-toggle')"):
            break
    expect(page.locator(":focus")).to_have_class("menu-toggle")
    page.keyboard.press("Enter")
    expect(page.locator(".menu-toggle")).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    expect(focused).to_be_in_viewport()
    assert page.evaluate("document.activeElement.closest('#site-nav') !== null")

    for _step in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('.sidenav') !== null"):
            break
    assert page.evaluate("document.activeElement.closest('.sidenav') !== null"), seen
    expect(page.locator(":focus")).to_be_in_viewport()
