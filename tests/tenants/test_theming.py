"""The agency's brand on its portal pages and in its branding editor (preview, contrast warning,
refusal of invalid colours)."""

from typing import Any

import pytest

from tenants.models import AuditLogEntry, Branding
from tests import factories
from tests.conftest import AgencyClient, World

pytestmark = pytest.mark.django_db


def _edit_form(branding: Branding, **changes: str) -> dict[str, Any]:
    data = {
        "display_name": branding.display_name,
        "logo_url": branding.logo_url,
        "favicon_url": branding.favicon_url,
        "primary_color": branding.primary_color,
        "accent_color": branding.accent_color,
        "background_color": branding.background_color,
        "font": branding.font,
        "support_email": branding.support_email,
        "sender_name": branding.sender_name,
    }
    return {**data, **changes}


def test_each_agencys_portal_carries_its_own_theme_and_title(
    world: World, agency_client: AgencyClient
) -> None:
    factories.BrandingFactory(
        agency=world.b.agency,
        primary_color="#fde047",
        background_color="#0b1020",
        font="serif",
        favicon_url="https://cdn.brand-b.test/icon.png",
        logo_url="https://cdn.brand-b.test/logo.svg",
    )
    page_a = agency_client(world.a).get("/").content.decode()
    page_b = agency_client(world.b).get("/").content.decode()

    assert "<title>Brand A</title>" in page_a and "Brand B" not in page_a
    assert "--brand-primary: #123456;" in page_a
    assert "--brand-link: #123456;" in page_a  # dark blue already reads on white
    assert "--brand-on-primary: #ffffff;" in page_a

    assert "<title>Brand B</title>" in page_b and "Brand A" not in page_b
    assert "--brand-primary: #fde047;" in page_b and "--brand-on-primary: #111111;" in page_b
    assert "--brand-background: #0b1020;" in page_b and "--brand-text: #ffffff;" in page_b
    assert "--brand-font: Georgia" in page_b
    assert '<link rel="icon" href="https://cdn.brand-b.test/icon.png">' in page_b
    assert 'src="https://cdn.brand-b.test/logo.svg"' in page_b


def test_editor_shows_a_preview_in_the_derived_colours(
    world: World, agency_client: AgencyClient
) -> None:
    branding = Branding.objects.for_agency(world.a.agency).get()
    page = agency_client(world.a, world.a.owner).get(
        f"/admin/tenants/branding/{branding.pk}/change/"
    )
    text = page.content.decode()
    assert "data-theme-preview" in text
    assert "--pv-primary:#123456;--pv-on-primary:#ffffff;" in text
    assert 'id="theme-fonts"' in text  # the live preview's font stacks
    # Its script is a file of our own origin: the Content-Security-Policy runs no inline code.
    assert 'src="/static/tenants/branding_preview.js"' in text and "<script>" not in text
    # The default amber accent is too pale for text on white: the preview says so.
    assert "Accent colour #f59e0b (2.15:1) is shown as #" in text


def test_editor_warns_when_a_pick_is_adjusted_for_contrast(
    world: World, agency_client: AgencyClient
) -> None:
    branding = Branding.objects.for_agency(world.a.agency).get()
    client = agency_client(world.a, world.a.owner)
    url = f"/admin/tenants/branding/{branding.pk}/change/"

    response = client.post(
        url, _edit_form(branding, primary_color="#FFE08A", _continue="1"), follow=True
    )

    assert response.redirect_chain and response.status_code == 200
    branding.refresh_from_db()
    assert branding.primary_color == "#ffe08a"  # the pick is kept; only its use as text changes
    text = response.content.decode()
    assert "on the background: Primary colour #ffe08a (1.29:1) → #" in text
    warning = [str(m) for m in response.context["messages"] if m.level_tag == "warning"]
    assert len(warning) == 1 and "Primary colour #ffe08a" in warning[0]
    assert "Accent colour #f59e0b" in warning[0]  # each adjusted colour is listed
    assert "is shown as" in text  # and the preview lists them too


def test_editor_refuses_an_invalid_colour_and_stores_nothing(
    world: World, agency_client: AgencyClient
) -> None:
    branding = Branding.objects.for_agency(world.a.agency).get()
    audits = AuditLogEntry.objects.for_agency(world.a.agency).count()
    response = agency_client(world.a, world.a.owner).post(
        f"/admin/tenants/branding/{branding.pk}/change/",
        _edit_form(branding, accent_color="#12345g", display_name="Renamed"),
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors == {"accent_color": ["'#12345g' is not a colour like #1f6feb."]}
    assert "is not a colour like #1f6feb." in response.content.decode()
    branding.refresh_from_db()
    assert branding.accent_color != "#12345g" and branding.display_name == "Brand A"
    assert AuditLogEntry.objects.for_agency(world.a.agency).count() == audits
