"""The install state machine: INSTALL / UNINSTALL / PLAN_CHANGE / LocationCreate in any order."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from integrations.ghl import vault
from integrations.ghl.errors import GhlNotConnected
from integrations.ghl.lifecycle import ParkedEvent, lifecycle_event_apply
from integrations.ghl.models import GhlInstallation, GhlToken
from integrations.ghl.signals import installation_uninstalled
from integrations.inbox.models import InboundEvent
from sandbox.ghl.testing import StandIn
from tenants.models import Agency, AuditLogEntry
from tests.integrations.conftest import APEX, CLINIC, DUBAI, Installer

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def install_event(**extra: Any) -> dict[str, Any]:
    return {
        "type": "INSTALL",
        "appId": "66d0a1b2c3d4e5f601234567",
        "companyId": APEX,
        "locationId": DUBAI,
        "companyName": "Apex Growth Partners",
        "whitelabelDetails": {
            "domain": "app.apexgrowth.example",
            "logoUrl": "https://x.test/l.png",
        },
        "planId": "66a0419a0dffa47fb5f8b22f",
        **extra,
    }


def uninstall_event(**extra: Any) -> dict[str, Any]:
    return {"type": "UNINSTALL", "appId": "66d0a1b2c3d4e5f601234567", "locationId": DUBAI, **extra}


def status_of(location_id: str = DUBAI) -> str:
    return str(GhlInstallation.objects.unscoped().get(ghl_location_id=location_id).status)


def test_an_install_before_the_token_exchange_is_parked_then_completed(
    install: Installer,
) -> None:
    outcome = lifecycle_event_apply(payload=install_event(), occurred_at=at(0))
    assert outcome == "pending: waiting for the token exchange"
    assert status_of() == "pending"
    agency = Agency.objects.get(ghl_company_id=APEX)
    assert agency.branding.logo_url == "https://x.test/l.png"  # zero-click branding
    install(location_id=DUBAI)
    assert status_of() == "healthy"
    assert GhlInstallation.objects.unscoped().filter(ghl_location_id=DUBAI).count() == 1


def test_uninstall_destroys_tokens_and_tells_the_product(
    install: Installer, django_capture_on_commit_callbacks: Any
) -> None:
    installation = install(location_id=DUBAI)
    vault.access_token(installation.pk)
    heard: list[int] = []

    def listener(sender: Any, installation: GhlInstallation, **_: Any) -> None:
        heard.append(installation.pk)

    installation_uninstalled.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            outcome = lifecycle_event_apply(payload=uninstall_event(), occurred_at=None)
    finally:
        installation_uninstalled.disconnect(listener)
    assert outcome == "uninstalled 1 installation(s)" and heard == [installation.pk]
    assert not GhlToken.objects.filter(installation=installation).exists()
    assert status_of() == "uninstalled"
    with pytest.raises(GhlNotConnected):
        vault.access_token(installation.pk)
    audit = AuditLogEntry.objects.for_agency(installation.agency).get(action="ghl.uninstalled")
    assert audit.location == installation.location
    # A duplicate UNINSTALL is a no-op.
    assert lifecycle_event_apply(payload=uninstall_event(), occurred_at=None) == (
        "uninstalled 0 installation(s)"
    )


def test_reinstall_starts_clean(install: Installer) -> None:
    first = install(location_id=DUBAI)
    lifecycle_event_apply(payload=uninstall_event(), occurred_at=None)
    again = install(location_id=DUBAI)
    assert again.pk == first.pk and again.status == "healthy"
    assert again.uninstalled_at is None and again.last_error == ""
    assert vault.access_token(again.pk)


def test_a_late_install_never_undoes_a_newer_uninstall(install: Installer) -> None:
    install(location_id=DUBAI)
    lifecycle_event_apply(payload=uninstall_event(), occurred_at=at(10))
    outcome = lifecycle_event_apply(payload=install_event(), occurred_at=at(5))
    assert outcome.startswith("ignored") and status_of() == "uninstalled"


@pytest.mark.parametrize(
    "order", list(itertools.permutations(["install@0", "uninstall@10", "install@20"]))
)
def test_any_arrival_order_ends_in_the_state_of_the_newest_event(order: tuple[str, ...]) -> None:
    events = {
        "install@0": (install_event(), at(0)),
        "uninstall@10": (uninstall_event(), at(10)),
        "install@20": (install_event(planId="66a0419a0dffa47fb5f8b999"), at(20)),
    }
    for name in order:
        payload, when = events[name]
        lifecycle_event_apply(payload=payload, occurred_at=when)
    installation = GhlInstallation.objects.unscoped().get(ghl_location_id=DUBAI)
    assert installation.status == "pending"  # installed again at 20, waiting for its token
    assert installation.last_event_at == at(20)


def test_an_install_of_an_unknown_company_without_company_id_is_parked() -> None:
    with pytest.raises(ParkedEvent):
        lifecycle_event_apply(payload=install_event(companyId=None), occurred_at=at(0))
    assert not GhlInstallation.objects.unscoped().exists()


def test_plan_change_updates_the_plan(install: Installer) -> None:
    install(location_id=DUBAI)
    payload = {"type": "PLAN_CHANGE", "locationId": DUBAI, "companyId": APEX, "newPlanId": "p2"}
    lifecycle_event_apply(payload=payload, occurred_at=None)
    assert GhlInstallation.objects.unscoped().get(ghl_location_id=DUBAI).plan_id == "p2"


def test_an_agency_uninstall_removes_every_location_of_the_agency(install: Installer) -> None:
    install(company_id=APEX, approvedLocations=[DUBAI, CLINIC])
    payload = {"type": "UNINSTALL", "companyId": APEX}
    assert (
        lifecycle_event_apply(payload=payload, occurred_at=None) == "uninstalled 3 installation(s)"
    )
    assert not GhlToken.objects.exists()


def test_a_new_location_of_a_future_locations_install_is_installed(
    install: Installer, ghl: StandIn
) -> None:
    install(company_id=APEX, approvedLocations=[DUBAI], futureLocations=True)
    created = ghl.create_location(APEX, name="Apex Sharjah", timezone="Asia/Dubai")
    payload = {"type": "LocationCreate", "id": created["id"], "companyId": APEX}
    outcome = lifecycle_event_apply(payload=payload, occurred_at=None)
    assert outcome == f"installed on the new location {created['id']}"
    assert status_of(created["id"]) == "healthy"


@pytest.mark.django_db(transaction=True)
def test_uninstall_from_ghl_reaches_us_signed_and_takes_effect_within_a_second(
    install: Installer, ghl: StandIn, live_server: Any, settings: Any
) -> None:
    """End to end: the stand-in uninstalls, signs and POSTs UNINSTALL to our live endpoint."""
    settings.PLATFORM_HOSTS = ["localhost", "127.0.0.1"]
    installation = install(location_id=DUBAI)
    ghl.set_webhook_url(f"{live_server.url}/integrations/ghl/webhooks")
    token = ghl.mint_token(location_id=DUBAI)["access_token"]
    started = time.monotonic()
    httpx.request(
        "DELETE",
        f"{ghl.base_url}/marketplace/app/66d0a1b2c3d4e5f601234567/installations",
        json={"locationId": DUBAI},
        headers=ghl.api_headers(token, "/marketplace/"),
    ).raise_for_status()
    while status_of() != "uninstalled":
        assert time.monotonic() - started < 1.0, "UNINSTALL took effect later than a second"
        time.sleep(0.02)
    assert not GhlToken.objects.filter(installation=installation).exists()
    # The event row is marked after the uninstall's own transaction commits: a moment later.
    row = InboundEvent.objects.get(event_type="UNINSTALL")
    while row.status == "processing" and time.monotonic() - started < 5.0:
        time.sleep(0.02)
        row.refresh_from_db()
    assert row.status == "succeeded" and row.signature_kind == "ed25519"
