"""The agency pages of the portal (/app/agency/): who gets in, the locations overview with its
health columns (and its fixed query count), and the branding editor."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.ghl.models import GhlInstallation
from tenants.models import AuditLogEntry, Branding, Location
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db


# --- who gets in ---------------------------------------------------------------------------------


def test_agency_members_get_in_and_client_users_get_a_404(
    world: World, agency_client: Callable[..., Client]
) -> None:
    for user in (world.a.owner, world.a.admin, world.a.staff):
        assert agency_client(world.a, user).get("/app/agency/").status_code == 200
    for user in (world.a.client_admin, world.a.client_member):
        assert agency_client(world.a, user).get("/app/agency/").status_code == 404
    # Another agency's owner is signed out on this domain (not a user of its realm).
    assert agency_client(world.a, world.b.owner).get("/app/agency/").status_code == 302
    anonymous = agency_client(world.a).get("/app/agency/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_home_links_agency_members_to_the_agency_pages_only(
    world: World, agency_client: Callable[..., Client]
) -> None:
    assert 'href="/app/agency/"' in agency_client(world.a, world.a.staff).get("/app/").text
    assert (
        'href="/app/agency/"' not in agency_client(world.a, world.a.client_admin).get("/app/").text
    )


def test_staff_navigation_and_admins_navigation(
    world: World, agency_client: Callable[..., Client]
) -> None:
    text = agency_client(world.a, world.a.owner).get("/app/agency/").text
    for url in ("/app/agency/reports/", "/app/agency/branding/", "/app/agency/domains/"):
        assert f'href="{url}"' in text
    assert 'href="/app/agency/billing/plans/"' in text
    assert 'aria-current="page">Locations' in text


# --- the overview --------------------------------------------------------------------------------


def _healthy_facts(location: Location) -> None:
    factories.GhlInstallationFactory(agency=location.agency, location=location)
    factories.LocationSyncFactory(
        location=location, last_incremental_at=timezone.now() - timedelta(hours=2)
    )
    factories.LeadDayFactory(location=location, leads=3)
    factories.SubscriptionFactory(location=location)


def test_overview_shows_each_locations_health(
    world: World, agency_client: Callable[..., Client]
) -> None:
    good, bad = world.a.locations
    _healthy_facts(good)
    factories.GhlInstallationFactory(
        agency=bad.agency, location=bad, status=GhlInstallation.Status.NEEDS_REAUTH
    )
    failing = factories.ExternalConnectionFactory(location=bad, consecutive_failures=2)
    factories.SyncConflictFactory(link__connection=failing)
    factories.SyncConflictFactory(link__connection=failing, field="email")
    factories.LeadDayFactory(location=bad, leads=5, day=timezone.localdate() - timedelta(days=30))

    text = agency_client(world.a, world.a.staff).get("/app/agency/").text
    good_row = text.split(f'data-location="{good.pk}"')[1].split("</tr>")[0]
    bad_row = text.split(f'data-location="{bad.pk}"')[1].split("</tr>")[0]
    assert 'badge ok">Connected' in good_row and 'badge ok">Active' in good_row
    assert "2\xa0hours ago" in good_row and "<td>3</td>" in good_row
    assert f'href="/app/l/{good.pk}/"' in good_row
    assert 'badge bad">Needs reconnect' in bad_row
    assert 'badge warn">2</span>' in bad_row  # open conflicts
    assert 'badge bad">1</span>' in bad_row  # failing connections
    assert "Never" in bad_row and ">None<" in bad_row  # no sync, no subscription
    assert "<td>0</td>" in bad_row  # last month's leads are not this week's
    assert world.b.locations[0].name not in text
    assert 'href="/integrations/ghl/connect/">Reconnect' not in text  # staff cannot reconnect
    admin_text = agency_client(world.a, world.a.admin).get("/app/agency/").text
    admin_bad_row = admin_text.split(f'data-location="{bad.pk}"')[1].split("</tr>")[0]
    assert 'href="/integrations/ghl/connect/">Reconnect' in admin_bad_row


def test_overview_search_and_paging(world: World, agency_client: Callable[..., Client]) -> None:
    for i in range(30):
        factories.LocationFactory(agency=world.a.agency, name=f"Clinic {i:02d}")
    client = agency_client(world.a, world.a.admin)
    first = client.get("/app/agency/?q=clinic").text
    assert "30 locations" in first and "Page 1 of 2" in first
    assert 'href="?q=clinic&amp;page=2"' in first
    second = client.get("/app/agency/?q=clinic&page=2").text
    assert "Clinic 29" in second and "Clinic 00" not in second
    none = client.get("/app/agency/?q=nothing-like-this").text
    assert "No location matches" in none


def _queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/app/agency/").status_code == 200
    return len(captured)


def test_overview_query_count_does_not_grow_with_the_locations(
    world: World, agency_client: Callable[..., Client]
) -> None:
    client = agency_client(world.a, world.a.owner)
    for location in world.a.locations:
        _healthy_facts(location)
    _queries(client)  # warm-up: per-process caches (content types) are filled once, by any page
    few = _queries(client)
    for i in range(40):  # more than a page: the page's 25 rows are all filled in
        location = factories.LocationFactory(agency=world.a.agency, name=f"Extra {i:02d}")
        _healthy_facts(location)
        factories.SyncConflictFactory(
            link__connection=factories.ExternalConnectionFactory(location=location)
        )
    assert _queries(client) == few
    # Session, user, the agency role, the count, the page's locations, and one query per facts
    # provider (integrations' health, billing's subscriptions) — never one per row.
    assert few == 7, few


# --- branding ------------------------------------------------------------------------------------


def test_branding_form_shows_the_preview_and_its_script_file(
    world: World, agency_client: Callable[..., Client]
) -> None:
    text = agency_client(world.a, world.a.admin).get("/app/agency/branding/").text
    assert 'id="id_primary_color"' in text and 'value="#123456"' in text
    assert "data-theme-preview" in text and 'id="theme-fonts"' in text
    assert "tenants/branding_preview.js" in text
    assert "<script>" not in text  # the Content-Security-Policy runs no inline code


def test_bad_colour_is_refused_beside_the_field_and_nothing_is_saved(
    world: World, agency_client: Callable[..., Client]
) -> None:
    branding = Branding.objects.for_agency(world.a.agency).get()
    data = {f: getattr(branding, f) for f in ("display_name", "accent_color", "font")}
    data |= {"primary_color": "blue-ish", "background_color": "#ffffff"}
    response = agency_client(world.a, world.a.admin).post("/app/agency/branding/", data)
    assert response.status_code == 400
    assert 'id="id_primary_color_error"' in response.text
    assert "Nothing was saved" in response.text
    branding.refresh_from_db()
    assert branding.primary_color == "#123456"
    assert (
        not AuditLogEntry.objects.for_agency(world.a.agency)
        .filter(action="branding.updated")
        .exists()
    )


def test_saving_branding_is_audited_and_warns_about_contrast(
    world: World, agency_client: Callable[..., Client]
) -> None:
    branding = Branding.objects.for_agency(world.a.agency).get()
    data = {f: getattr(branding, f) for f in ("display_name", "accent_color", "font")}
    data |= {"primary_color": "#FFFF00", "background_color": "#ffffff", "display_name": "Shiny"}
    client = agency_client(world.a, world.a.owner)
    response = client.post("/app/agency/branding/", data)
    assert response.status_code == 302 and response["Location"] == "/app/agency/branding/"
    branding.refresh_from_db()
    assert (branding.primary_color, branding.display_name) == ("#ffff00", "Shiny")
    entry = AuditLogEntry.objects.for_agency(world.a.agency).get(action="branding.updated")
    assert entry.actor == world.a.owner
    assert "Adjusted for readable text" in client.get("/app/agency/branding/").text


def test_staff_see_branding_read_only_and_may_not_post(
    world: World, agency_client: Callable[..., Client]
) -> None:
    client = agency_client(world.a, world.a.staff)
    text = client.get("/app/agency/branding/").text
    assert '<form method="post" action="/app/agency/branding/"' not in text
    assert "Only the agency's owners and admins" in text
    assert client.post("/app/agency/branding/", {"display_name": "X"}).status_code == 403
