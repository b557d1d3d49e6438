"""The token vault: single-flight refresh across threads and processes, rotation, recovery."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from integrations.ghl import operations as ops
from integrations.ghl import vault
from integrations.ghl.client import GhlClient
from integrations.ghl.errors import GhlLocationInactive, GhlNotConnected
from integrations.ghl.models import GhlInstallation, GhlToken
from sandbox.ghl.testing import StandIn
from tests.integrations.conftest import APEX, DUBAI, Installer
from tests.integrations.ghl import workers

pytestmark = pytest.mark.django_db


def expire(installation: GhlInstallation, ghl: StandIn) -> None:
    """Expire the access token at GHL and in our row, as a day passing would."""
    ghl.expire_tokens(location_id=installation.ghl_location_id or None)
    GhlToken.objects.filter(installation=installation).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    vault.forget(installation.pk)


def location_name(installation: GhlInstallation) -> str:
    with GhlClient(installation) as client:
        return str(client.run(ops.location_get(location_id=installation.ghl_location_id))["name"])


def test_an_expired_token_is_refreshed_once_and_the_pair_rotates(
    install: Installer, ghl: StandIn
) -> None:
    installation = install(location_id=DUBAI)
    before = GhlToken.objects.get(installation=installation)
    for round_ in (1, 2):  # two consecutive refreshes of one installation both work
        expire(installation, ghl)
        assert location_name(installation) == "Dubai Homes Realty"
        assert ghl.counters(DUBAI)["refreshes"] == round_
    after = GhlToken.objects.get(installation=installation)
    assert after.generation == before.generation + 2
    assert after.refresh_token != before.refresh_token
    assert ghl.counters(DUBAI).get("refresh_token_reuse", 0) == 0
    installation.refresh_from_db()
    assert installation.status == "healthy" and installation.access_expires_at == after.expires_at


def test_a_401_forces_one_refresh_then_the_call_succeeds(install: Installer, ghl: StandIn) -> None:
    installation = install(location_id=DUBAI)
    location_name(installation)  # the token is now held in memory
    ghl.revoke_tokens(DUBAI, which="access")  # GHL stops accepting it before its expiry
    assert location_name(installation) == "Dubai Homes Realty"
    assert ghl.counters(DUBAI)["refreshes"] == 1


@pytest.mark.django_db(transaction=True)
def test_threads_of_one_process_share_one_refresh(install: Installer, ghl: StandIn) -> None:
    installation = install(location_id=DUBAI)
    expire(installation, ghl)
    with ThreadPoolExecutor(max_workers=20) as pool:
        tokens = set(pool.map(lambda _: vault.access_token(installation.pk), range(60)))
    assert len(tokens) == 1
    assert ghl.counters(DUBAI)["refreshes"] == 1


def _child_overrides(ghl: StandIn) -> dict[str, Any]:
    return {
        "DATABASE_NAME": connection.settings_dict["NAME"],
        "GHL_API_BASE": ghl.base_url,
        "GHL_RATE_BURST_LIMIT": 1_000_000,
        "GHL_RATE_KEY_PREFIX": settings.GHL_RATE_KEY_PREFIX,
    }


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_500_callers_in_4_processes_on_an_expired_token_make_exactly_one_refresh(
    install: Installer, ghl: StandIn
) -> None:
    ghl.set_config(rate_limits={"unlimited": True})
    installation = install(location_id=DUBAI)
    expire(installation, ghl)
    ghl.set_faults(DUBAI, latency={"kind": "fixed", "ms": 50})  # keep callers overlapping
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(4) as pool:
        results = pool.starmap(
            workers.call_many, [([installation.pk], 125, _child_overrides(ghl))] * 4
        )
    assert sum(r["ok"] for r in results) == 500, [r["errors"] for r in results]
    counters = ghl.counters(DUBAI)
    assert counters["refreshes"] == 1
    assert counters.get("refresh_token_reuse", 0) == 0


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_50_installations_expiring_together_refresh_in_parallel(
    install: Installer, ghl: StandIn
) -> None:
    ghl.set_config(rate_limits={"unlimited": True})
    for n in range(48):  # 2 demo locations + 48 more = 50 location installations
        ghl.create_location(APEX, name=f"Apex Branch {n}", timezone="Asia/Dubai")
    install(company_id=APEX, approveAll=True)
    installations = list(GhlInstallation.objects.unscoped().exclude(ghl_location_id=""))
    assert len(installations) == 50
    for installation in installations:
        expire(installation, ghl)
    # Each refresh takes 200 ms at GHL: 50 in series would take 10 s.
    ghl.set_faults("*", latency={"kind": "fixed", "ms": 200}, paths=["/oauth/token"])
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=50) as pool:
        tokens = list(pool.map(lambda i: vault.access_token(i.pk), installations))
    elapsed = time.monotonic() - started
    assert len(set(tokens)) == 50
    refreshes = sum(ghl.counters(i.ghl_location_id)["refreshes"] for i in installations)
    assert refreshes == 50
    # In series 10 s; in parallel well under a second of GHL time (+ our own work).
    assert elapsed < 6, f"refreshes of different installations were serialized ({elapsed:.1f} s)"


def test_invalid_grant_under_a_connected_agency_is_healed_by_minting_again(
    install: Installer, ghl: StandIn
) -> None:
    company = install(company_id=APEX, approvedLocations=[DUBAI])
    location = GhlInstallation.objects.unscoped().get(ghl_location_id=DUBAI)
    GhlToken.objects.filter(installation=location).update(refresh_token="consumed-elsewhere")
    expire(location, ghl)
    assert location_name(location) == "Dubai Homes Realty"
    location.refresh_from_db()
    assert location.status == "healthy"
    assert company.status == "healthy"


def test_invalid_grant_without_an_agency_token_needs_reauth_and_mails_a_branded_link(
    install: Installer, ghl: StandIn, django_capture_on_commit_callbacks: Any
) -> None:
    installation = install(location_id=DUBAI)
    agency = installation.agency
    from tenants import services
    from tests.factories import UserFactory

    owner = UserFactory(agency=agency, email="owner@apex.test")
    services.membership_grant(user=owner, role="agency_owner", acting_user=None)
    GhlToken.objects.filter(installation=installation).update(refresh_token="not-valid-any-more")
    expire(installation, ghl)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(GhlNotConnected):
        location_name(installation)
    installation.refresh_from_db()
    assert installation.status == "needs_reauth" and "Invalid grant" in installation.last_error
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["owner@apex.test"]
    assert message.from_email.startswith("Apex Growth Partners <")
    assert "http://apex-growth-partners.localhost/integrations/ghl/connect/" in message.body
    assert "leadconnector" not in message.body.lower()
    # Further calls fail fast, without asking GHL again.
    with pytest.raises(GhlNotConnected):
        vault.access_token(installation.pk)
    assert ghl.counters(DUBAI)["refreshes"] == 0


def test_a_paused_location_is_paused_not_dead(install: Installer, ghl: StandIn) -> None:
    installation = install(location_id=DUBAI)
    ghl.pause_location(DUBAI)
    expire(installation, ghl)
    with pytest.raises(GhlLocationInactive):
        vault.access_token(installation.pk)
    installation.refresh_from_db()
    assert installation.status == "paused"
    ghl.pause_location(DUBAI, paused=False)
    GhlInstallation.objects.unscoped().filter(pk=installation.pk).update(last_error_at=None)
    assert location_name(installation) == "Dubai Homes Realty"
    installation.refresh_from_db()
    assert installation.status == "healthy"


def test_a_revocation_is_looked_for_at_most_once_per_max_age(install: Installer) -> None:
    installation = install(location_id=DUBAI)
    token = vault.access_token(installation.pk)  # held, and found not revoked just now
    cache.set(vault.revoked_key(installation.pk), 1)  # another process's uninstall
    try:
        # Looked for less than a minute ago: not looked for again (no Redis round trip).
        assert vault.access_token(installation.pk, revocation_max_age=60) == token
        assert vault.cached_access_token(installation.pk, revocation_max_age=60) == token
        with pytest.raises(GhlNotConnected):
            vault.cached_access_token(installation.pk)  # looked for every time by default
        assert installation.pk not in vault._held  # and the token dropped
    finally:
        vault.unrevoke(installation.pk)
