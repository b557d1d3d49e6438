"""The client's whole journey in a real browser, on their agency's domain: invited by the agency,
sign up, verify the address, sign in, add an authenticator app, sign in again with it, look at
the dashboard, the contacts and one contact, drag a pipeline card to another stage (which the CRM
stand-in must then hold), and invite a teammate. Then the other agency's portal shows its own
brand and refuses the first session.

One test on purpose: every browser test pays a database flush.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from django.core import mail
from django.core.cache import cache
from playwright.sync_api import Page, expect

from integrations.mirror.models import MirrorOpportunity, MirrorPipeline
from sandbox.ghl.testing import StandIn
from tenants import selectors, services
from tenants.models import Location, Membership
from tests import factories
from tests.conftest import World
from tests.e2e.test_sign_in import totp_code
from tests.integrations.conftest import DUBAI, ghl, install  # noqa: F401 (fixtures used below)

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-and-unusual-pass-42"
CLIENT = "rana@client.test"
TEAMMATE = "omar@client.test"


def _link_in(message: mail.EmailMessage, portal: Callable[[str], str]) -> str:
    """The action link of a branded e-mail, moved onto the live server's port."""
    found = re.search(r"https?://[^/\s]+(/\S+)", str(message.body))
    assert found, message.body
    return portal(found.group(1))


def _next_mail(*, after: int) -> mail.EmailMessage:
    """The e-mail sent after the first `after` ones; the live server sends it from its thread."""
    deadline = time.monotonic() + 10
    while len(mail.outbox) <= after and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(mail.outbox) > after, [m.subject for m in mail.outbox]
    return mail.outbox[after]


def _stage_in_crm(crm: StandIn, opportunity_id: str) -> str:
    """What the stand-in itself holds, read through its API like any GHL client would."""
    token = crm.mint_token(location_id=DUBAI)["access_token"]
    path = f"/opportunities/{opportunity_id}"
    answer = httpx.get(crm.base_url + path, headers=crm.api_headers(token, path), timeout=30)
    answer.raise_for_status()
    stage: str = answer.json()["opportunity"]["pipelineStageId"]
    return stage


def _card_to_move(location: Location) -> tuple[MirrorOpportunity, dict[str, str]]:
    """An open card of the board's first pipeline and a stage of that pipeline it is not in."""
    for opportunity in MirrorOpportunity.objects.for_location(location).filter(status="open"):
        pipeline = MirrorPipeline.objects.for_location(location).get(
            ghl_id=opportunity.pipeline_ghl_id
        )
        others = [s for s in pipeline.stages if s["id"] != opportunity.stage_ghl_id]
        if others:
            return opportunity, others[0]
    raise AssertionError("the installed location has no open opportunity to move")


def _sign_in(page: Page, url: str, email: str) -> None:
    page.goto(url)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_client_from_invitation_to_daily_work(
    page: Page,
    world: World,
    portal_url: Any,
    install: Callable[..., Any],  # noqa: F811 (the imported fixture)
    ghl: StandIn,  # noqa: F811 (the imported fixture)
    settings: Any,
) -> None:
    cache.clear()  # allauth counts sends and attempts per address in the cache: start with none
    location = install(location_id=DUBAI).location
    agency = location.agency
    domain = selectors.agency_primary_domain(agency)
    # Links in e-mails are built from the agency's domain and the public port: the live server's.
    settings.PUBLIC_PORT = portal_url(domain).rsplit(":", 1)[1].rstrip("/")

    def on_a(path: str) -> str:
        return str(portal_url(domain, path))

    # The agency invites the client's admin (the agency side has its own screens and tests).
    agency_admin = factories.UserFactory(agency=agency, email="admin@agency.test")
    factories.MembershipFactory(user=agency_admin, agency=agency, role=Membership.Role.AGENCY_ADMIN)
    mail.outbox.clear()
    services.invitation_create(
        location=location, email=CLIENT, role=Membership.Role.CLIENT_ADMIN, acting_user=agency_admin
    )
    (invitation_mail,) = mail.outbox
    assert invitation_mail.to == [CLIENT]

    # Sign up from the invitation link: the address is the invited one.
    page.goto(_link_in(invitation_mail, on_a))
    expect(page).to_have_url(on_a("/accounts/signup/"))
    page.get_by_label("Your name").fill("Rana Aziz")
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Verify")

    # The verification e-mail's link, confirmed in the browser.
    verification_mail = _next_mail(after=1)
    assert verification_mail.to == [CLIENT]
    page.goto(_link_in(verification_mail, on_a))
    page.get_by_role("button", name="Confirm").click()

    _sign_in(page, on_a("/accounts/login/"), CLIENT)
    expect(page).to_have_url(on_a("/app/"))

    # Add an authenticator app: read the secret the page shows, answer with a code from it.
    page.goto(on_a("/accounts/2fa/totp/activate/"))
    expect(page).to_have_url(re.compile(r"/accounts/reauthenticate/"))  # the password again
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    secret = page.get_by_label("Authenticator secret").input_value()
    page.get_by_label("Authenticator code").fill(totp_code(secret))
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_text("Authenticator app activated")).to_be_visible()

    # Sign out, then in again: now the code is asked for.
    page.get_by_role("button", name="Sign out").click()
    _sign_in(page, on_a("/accounts/login/"), CLIENT)
    expect(page).to_have_url(on_a("/accounts/2fa/authenticate/"))
    page.get_by_label("Code").fill(totp_code(secret))
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(on_a("/app/"))

    # Daily work: dashboard, contacts, one contact.
    workspace = f"/app/l/{location.pk}"
    page.get_by_role("link", name=location.name).first.click()
    expect(page.locator(".sidenav-title")).to_have_text(location.name)
    page.goto(on_a(f"{workspace}/dashboard/"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.locator(".sidenav").get_by_role("link", name="Contacts").click()
    first_contact = page.locator("table.data tbody tr a").first
    name = first_contact.inner_text()
    first_contact.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)

    # The pipeline board: drag a card onto another stage; the CRM holds the new stage.
    opportunity, stage = _card_to_move(location)
    page.goto(on_a(f"{workspace}/pipeline/?pipeline={opportunity.pipeline_ghl_id}"))
    card = page.locator(f'.board-card[data-opportunity="{opportunity.ghl_id}"]')
    column = page.locator(f'[data-stage-id="{stage["id"]}"]')
    card.drag_to(column)
    expect(page.get_by_text("Moved")).to_be_visible()
    expect(column.locator(f'[data-opportunity="{opportunity.ghl_id}"]')).to_be_visible()
    assert _stage_in_crm(ghl, opportunity.ghl_id) == stage["id"]

    # The team page: invite a teammate; the invitation leaves by e-mail.
    page.locator(".sidenav").get_by_role("link", name="Team").click()
    page.get_by_label("E-mail address").fill(TEAMMATE)
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("cell", name=TEAMMATE, exact=True)).to_be_visible()
    assert _next_mail(after=2).to == [TEAMMATE]

    # Another agency's portal: its own brand, and this session is refused there.
    session = next(c for c in page.context.cookies() if c["name"] == "sessionid")
    page.context.add_cookies(
        [{"name": "sessionid", "value": session["value"], "url": portal_url(world.b.domain)}]
    )
    page.goto(portal_url(world.b.domain, "/app/"))
    expect(page).to_have_url(portal_url(world.b.domain, "/accounts/login/?next=/app/"))
    expect(page.locator(".brand-name")).to_have_text("Brand B")
    expect(page.locator("body")).not_to_contain_text(str(agency.name))
