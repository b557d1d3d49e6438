"""Installing the app: OAuth with server-side state, zero-click onboarding, agency installs."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client

from integrations.ghl.models import GhlInstallation, GhlOAuthState, GhlToken
from sandbox.ghl.testing import StandIn
from tenants.models import Agency, AgencyDomain, Branding, Location
from tests.conftest import AgencyClient, World
from tests.integrations.conftest import APEX, CLINIC, DUBAI, Installer

pytestmark = pytest.mark.django_db


def test_a_marketplace_install_onboards_the_agency_without_a_click(
    install: Installer, ghl: StandIn
) -> None:
    installation = install(location_id=DUBAI)
    agency = installation.agency
    assert agency.ghl_company_id == APEX and agency.name == "Apex Growth Partners"
    assert Branding.objects.for_agency(agency).get().display_name == "Apex Growth Partners"
    domain = AgencyDomain.objects.for_agency(agency).get()
    assert domain.is_primary and domain.is_verified and domain.domain.endswith(".localhost")
    location = Location.objects.for_agency(agency).get(ghl_location_id=DUBAI)
    assert (location.name, location.timezone) == ("Dubai Homes Realty", "Asia/Dubai")
    assert installation.status == GhlInstallation.Status.HEALTHY
    assert installation.user_type == "Location" and installation.location == location
    assert ghl.counters(DUBAI)["token_exchanges"] == 1


def test_tokens_are_stored_encrypted_and_apart(install: Installer) -> None:
    installation = install(location_id=DUBAI)
    token = GhlToken.objects.get(installation=installation)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM integrations_ghltoken "
            "WHERE installation_id = %s",
            [installation.pk],
        )
        stored_access, stored_refresh = cursor.fetchone()
    assert token.access_token and token.refresh_token
    assert token.access_token not in stored_access and token.refresh_token not in stored_refresh
    assert stored_access.startswith("gAAAA")  # Fernet
    assert "token" not in {f.name for f in GhlInstallation._meta.concrete_fields}


def test_the_callback_redirects_to_the_agencys_own_admin(ghl: StandIn, db: None) -> None:
    code = ghl.install(locationId=CLINIC, emitInstall=False)["code"]
    response = Client(HTTP_HOST="localhost").get("/integrations/ghl/oauth/callback", {"code": code})
    agency = Agency.objects.get(ghl_company_id=APEX)
    domain = AgencyDomain.objects.for_agency(agency).get(is_primary=True).domain
    assert response.status_code == 302
    assert urlsplit(response["Location"]).hostname == domain
    assert response["Location"].endswith("/admin/integrations/ghlinstallation/")


def test_connect_highlevel_binds_the_flow_to_the_agency_server_side(
    world: World, agency_client: AgencyClient, install: Installer, ghl: StandIn
) -> None:
    Agency.objects.filter(pk=world.a.agency.pk).update(ghl_company_id=None)  # made by hand
    response = agency_client(world.a, world.a.owner).get("/integrations/ghl/connect/")
    assert response.status_code == 302
    consent = urlsplit(response["Location"])
    query = parse_qs(consent.query)
    assert consent.path == "/v2/oauth/chooselocation"
    assert query["client_id"] == ["66d0a1b2c3d4e5f601234567-m0ck5t4n"]
    state = query["state"][0]
    assert GhlOAuthState.objects.get(state=state).agency == world.a.agency
    installation = install(location_id=DUBAI, state=state)
    # The hand-made agency A is now the GHL company; no second agency was onboarded.
    assert installation.agency == world.a.agency
    world.a.agency.refresh_from_db()
    assert world.a.agency.ghl_company_id == APEX
    assert not Agency.objects.exclude(pk=world.a.agency.pk).filter(ghl_company_id=APEX).exists()


def test_an_agency_connected_to_another_company_is_refused(
    world: World, agency_client: AgencyClient, ghl: StandIn
) -> None:
    start = agency_client(world.a, world.a.owner).get("/integrations/ghl/connect/")
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    code = ghl.install(locationId=DUBAI, emitInstall=False)["code"]
    status, page = _callback(code=code, state=state)
    assert status == 400 and "already connected to another HighLevel agency" in page
    assert not GhlInstallation.objects.unscoped().exists()
    assert not Location.objects.unscoped().filter(ghl_location_id=DUBAI).exists()


def test_only_agency_owners_and_admins_start_a_connection(
    world: World, agency_client: AgencyClient, ghl: StandIn
) -> None:
    for user in (world.a.staff, world.a.client_admin):
        response = agency_client(world.a, user).get("/integrations/ghl/connect/")
        assert response["Location"].startswith("/admin/login/")
    assert not GhlOAuthState.objects.exists()


def _callback(**query: str) -> tuple[int, str]:
    response = Client(HTTP_HOST="localhost").get("/integrations/ghl/oauth/callback", query)
    return response.status_code, response.content.decode()


def _nothing_stored() -> None:
    assert not GhlInstallation.objects.unscoped().exists()
    assert not GhlToken.objects.exists()
    assert not Agency.objects.filter(ghl_company_id=APEX).exists()


def test_a_forged_state_is_refused_and_nothing_is_stored(ghl: StandIn, world: World) -> None:
    code = ghl.install(locationId=DUBAI, emitInstall=False)["code"]
    status, page = _callback(code=code, state="forged-state-value")
    assert status == 400 and "expired or was already used" in page
    _nothing_stored()
    assert ghl.counters(DUBAI).get("token_exchanges", 0) == 0  # the code was never spent


def test_a_replayed_state_is_refused(
    ghl: StandIn, world: World, agency_client: AgencyClient, install: Installer
) -> None:
    Agency.objects.filter(pk=world.a.agency.pk).update(ghl_company_id=None)
    start = agency_client(world.a, world.a.owner).get("/integrations/ghl/connect/")
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    install(location_id=DUBAI, state=state)
    code = ghl.install(locationId=CLINIC, emitInstall=False)["code"]
    status, page = _callback(code=code, state=state)
    assert status == 400 and "expired or was already used" in page
    assert not GhlInstallation.objects.unscoped().filter(ghl_location_id=CLINIC).exists()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"code": "not-a-code"}, "HighLevel refused the connection"),
        ({}, "did not send an authorization code"),
        ({"error": "access_denied"}, "cancelled"),
    ],
)
def test_bad_callbacks_show_a_clear_message_and_store_nothing(
    ghl: StandIn, world: World, query: dict[str, str], message: str
) -> None:
    status, page = _callback(**query)
    assert status == 400 and message in page
    assert "HighLevel" in page or "cancelled" in page
    _nothing_stored()


def test_an_agency_install_mints_a_token_for_every_approved_location(
    install: Installer, ghl: StandIn
) -> None:
    company = install(company_id=APEX, approvedLocations=[DUBAI, CLINIC])
    assert company.user_type == "Company" and company.location is None
    locations = GhlInstallation.objects.for_agency(company.agency).exclude(ghl_location_id="")
    assert {i.ghl_location_id: i.status for i in locations} == {
        DUBAI: "healthy",
        CLINIC: "healthy",
    }
    assert all(GhlToken.objects.filter(installation=i).exists() for i in locations)
    assert ghl.counters(DUBAI)["location_tokens"] == 1
    assert {loc.name for loc in Location.objects.for_agency(company.agency)} == {
        "Dubai Homes Realty",
        "Harbor Health Clinic",
    }


def test_installing_twice_is_idempotent_and_starts_clean(install: Installer) -> None:
    first = install(location_id=DUBAI)
    generation = GhlToken.objects.get(installation=first).generation
    second = install(location_id=DUBAI)
    assert second.pk == first.pk
    assert GhlToken.objects.get(installation=second).generation == generation + 1
    assert Location.objects.unscoped().filter(ghl_location_id=DUBAI).count() == 1
    assert Agency.objects.filter(ghl_company_id=APEX).count() == 1
