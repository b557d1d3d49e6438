"""The agency's connection health page, the call log screens, and the periodic GHL tasks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from integrations import tasks
from integrations.ghl import install as install_module
from integrations.ghl import vault
from integrations.ghl.models import GhlCallLog, GhlInstallation, GhlToken
from sandbox.ghl.testing import StandIn
from tests import factories
from tests.conftest import AgencyClient, World
from tests.integrations.conftest import APEX, CLINIC, DUBAI, Installer

pytestmark = pytest.mark.django_db


def test_the_health_page_shows_state_expiry_budget_and_a_reconnect_link(
    world: World, agency_client: AgencyClient
) -> None:
    healthy = factories.GhlTokenFactory(
        installation=factories.GhlInstallationFactory(
            agency=world.a.agency, location=world.a.locations[0]
        )
    ).installation
    broken = factories.GhlInstallationFactory(
        agency=world.a.agency,
        location=world.a.locations[1],
        status=GhlInstallation.Status.NEEDS_REAUTH,
        last_error="Invalid grant: refresh token is invalid",
    )
    page = agency_client(world.a, world.a.owner).get("/admin/integrations/ghlinstallation/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "A Location 1" in text and "Healthy" in text
    assert "Needs reconnecting" in text and "Invalid grant" in text
    assert f"http://{world.a.domain}/integrations/ghl/connect/" in text
    assert "200,000" in text  # today's budget, untouched
    assert healthy.pk != broken.pk


def test_reconnect_links_go_only_where_needed_and_only_to_agency_admins(
    world: World, agency_client: AgencyClient
) -> None:
    broken = factories.GhlInstallationFactory(
        agency=world.a.agency, location=world.a.locations[0], status="needs_reauth"
    )
    fine = factories.GhlInstallationFactory(agency=world.a.agency, location=world.a.locations[1])
    response = agency_client(world.a, world.a.admin).post(
        "/admin/integrations/ghlinstallation/",
        {"action": "send_reconnect_links", "_selected_action": [broken.pk, fine.pk]},
        follow=True,
    )
    assert "1 selected connection(s) did not need reconnecting" in response.content.decode()
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == sorted([world.a.owner.email, world.a.admin.email])


def test_the_call_log_is_browsable_and_filtered_to_the_agency(
    world: World, agency_client: AgencyClient
) -> None:
    mine = factories.GhlCallLogFactory(
        installation=factories.GhlInstallationFactory(
            agency=world.a.agency, location=world.a.locations[0]
        ),
        status=429,
        error="Too Many Requests",
    )
    factories.GhlCallLogFactory(
        installation=factories.GhlInstallationFactory(
            agency=world.b.agency, location=world.b.locations[0]
        )
    )
    client = agency_client(world.a, world.a.staff)
    listing = client.get("/admin/integrations/ghlcalllog/", {"status": 429}).content.decode()
    assert mine.path in listing and "B Location" not in listing
    detail = client.get(f"/admin/integrations/ghlcalllog/{mine.pk}/change/").content.decode()
    assert "Too Many Requests" in detail


def test_old_call_records_are_pruned() -> None:
    old = factories.GhlCallLogFactory()
    GhlCallLog.objects.unscoped().filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=30)
    )
    recent = factories.GhlCallLogFactory()
    assert tasks.ghl_call_log_prune() == 1
    assert list(GhlCallLog.objects.unscoped().values_list("pk", flat=True)) == [recent.pk]


def test_the_periodic_refresh_rotates_tokens_ahead_of_expiry(
    install: Installer, ghl: StandIn
) -> None:
    installation = install(location_id=DUBAI)
    soon = timezone.now() + timedelta(minutes=30)
    GhlToken.objects.filter(installation=installation).update(expires_at=soon)
    GhlInstallation.objects.unscoped().filter(pk=installation.pk).update(access_expires_at=soon)
    vault.forget(installation.pk)
    factories.GhlTokenFactory()  # expires in 20 h: not due
    assert tasks.ghl_tokens_refresh_due() == 1  # tasks run at once in tests (countdown aside)
    assert ghl.counters(DUBAI)["refreshes"] == 1
    assert GhlToken.objects.get(installation=installation).expires_at > soon


def test_refreshes_due_together_are_spread_out(world: World) -> None:
    soon = timezone.now() + timedelta(minutes=5)
    for _ in range(50):
        token = factories.GhlTokenFactory(
            installation=factories.GhlInstallationFactory(
                agency=world.a.agency,
                location=factories.LocationFactory(agency=world.a.agency),
                access_expires_at=soon,
            ),
            expires_at=soon,
        )
        assert token.installation.pk
    plan = install_module.token_refresh_plan(within=timedelta(hours=1))
    delays = [delay for _, delay in plan]
    assert len(plan) == 50
    assert all(0 <= d <= 600 for d in delays)
    assert max(delays) - min(delays) > 120 and len({round(d) for d in delays}) > 25


def test_the_daily_reconcile_heals_a_location_left_pending(
    install: Installer, ghl: StandIn, django_capture_on_commit_callbacks: Any
) -> None:
    install(company_id=APEX, approvedLocations=[DUBAI, CLINIC])
    stuck = GhlInstallation.objects.unscoped().get(ghl_location_id=CLINIC)
    GhlToken.objects.filter(installation=stuck).delete()
    GhlInstallation.objects.unscoped().filter(pk=stuck.pk).update(status="pending")
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.ghl_companies_reconcile() == 1
    stuck.refresh_from_db()
    assert stuck.status == "healthy" and GhlToken.objects.filter(installation=stuck).exists()


def test_processed_inbox_rows_are_pruned_but_failures_are_kept() -> None:
    old = timezone.now() - timedelta(days=30)
    done = factories.InboundEventFactory(status="succeeded")
    dead = factories.InboundEventFactory(status="dead")
    fresh = factories.InboundEventFactory(status="succeeded")
    from integrations.inbox.models import InboundEvent

    InboundEvent.objects.filter(pk__in=[done.pk, dead.pk]).update(received_at=old)
    assert tasks.inbound_events_prune() == 1
    assert set(InboundEvent.objects.values_list("pk", flat=True)) == {dead.pk, fresh.pk}
