"""Embedded SSO end to end: the CRM stand-in frames our SSO page like a custom menu link, answers
its REQUEST_USER_DATA with an encrypted context, and the frame lands in the client's workspace."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from sandbox.ghl.testing import StandIn
from tests.conftest import Tenant, World

pytestmark = pytest.mark.django_db(transaction=True)


def crm_frame(ghl: StandIn, portal_url: Any, tenant: Tenant, **context: Any) -> str:
    return ghl.sso_frame_url(portal_url(tenant.domain, "/integrations/sso/ghl/"), **context)


@pytest.fixture
def crm(ghl_standin: StandIn, settings: Any) -> StandIn:
    # The stand-in's page plays the CRM, so it is the origin allowed to frame us.
    settings.GHL_SSO_FRAME_ANCESTORS = [ghl_standin.base_url]
    return ghl_standin


def test_custom_menu_link_signs_the_client_into_their_workspace(
    page: Page, world: World, portal_url: Any, crm: StandIn
) -> None:
    user, location = world.a.client_admin, world.a.locations[0]
    page.goto(
        crm_frame(
            crm,
            portal_url,
            world.a,
            userId="GhlUserE2e0000000001",
            companyId=world.a.agency.ghl_company_id,
            role="admin",
            type="location",
            activeLocation=location.ghl_location_id,
            userName=user.full_name,
            email=user.email,
        )
    )
    frame = page.frame_locator("#custom-page")
    expect(frame.locator(".sidenav-title")).to_have_text(location.name, timeout=15_000)
    expect(frame.locator(".brand-name")).to_have_text("Brand A")

    # The session survives the next click inside the frame: its cookie is SameSite=None.
    frame.get_by_role("link", name="All businesses").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Your businesses")
    session = next(c for c in page.context.cookies() if c["name"] == "sessionid")
    assert session["sameSite"] == "None" and session["secure"]


def test_a_context_of_another_agency_is_refused_in_the_frame(
    page: Page, world: World, portal_url: Any, crm: StandIn
) -> None:
    user = world.b.client_admin
    page.goto(
        crm_frame(
            crm,
            portal_url,
            world.a,
            userId="GhlUserE2e0000000002",
            companyId=world.b.agency.ghl_company_id,
            type="location",
            activeLocation=world.b.locations[0].ghl_location_id,
            userName=user.full_name,
            email=user.email,
        )
    )
    frame = page.frame_locator("#custom-page")
    expect(frame.get_by_role("heading", level=1)).to_have_text("We could not sign you in")
    expect(frame.get_by_role("alert")).to_contain_text("another portal")
    assert not [c for c in page.context.cookies() if c["name"] == "sessionid"]
