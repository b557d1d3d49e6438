"""Installing the app: the OAuth flow, storing installations and their tokens, and minting a
location token for every location an agency approved.

* "Connect HighLevel" (`oauth_start`) binds a state to the agency server-side; installs started
  from the Marketplace listing arrive without our state and are accepted too.
* The callback exchanges the code. A first install of an unknown company creates its agency
  (name and logo from GHL's installer details, a platform subdomain): zero-click onboarding.
* An agency (company) token mints a location token for every installed location
  (`/oauth/locationToken`), reconciled against `/oauth/installedLocations`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from saas_platform.kernel.errors import ApplicationError
from saas_platform.kernel.logging import get_logger
from tenants import services as tenant_services
from tenants.models import Agency, Location, User

from . import operations as ops
from . import vault
from .calllog import CallRecorder
from .client import GhlClient
from .config import ghl_app
from .errors import GhlError
from .governor import Priority, get_governor
from .models import STATE_LIFETIME, GhlInstallation, GhlOAuthState, GhlToken
from .oauth import TokenGrant, consent_url, exchange_code
from .paging import SkipLimit, pages
from .signals import installation_connected
from .transport import Record, RetryPolicy, SyncDriver, Wiring, execute

log = get_logger(__name__)


# --- the OAuth flow ------------------------------------------------------------------------------


def oauth_start(*, agency: Agency | None, user: User | None) -> str:
    """The consent URL for a new install flow, with a state remembered server-side."""
    state = GhlOAuthState.objects.create(
        state=GhlOAuthState.new_value(), agency=agency, started_by=user
    )
    return consent_url(redirect_uri=settings.GHL_REDIRECT_URI, state=state.state)


def _consume_state(value: str) -> GhlOAuthState:
    """The unused, fresh state row for `value`; consumed atomically, so a replay finds none."""
    now = timezone.now()
    claimed = GhlOAuthState.objects.filter(
        state=value, consumed_at__isnull=True, created_at__gte=now - STATE_LIFETIME
    ).update(consumed_at=now)
    if claimed != 1:
        raise ApplicationError(
            "This connection link has expired or was already used. Please start again from "
            "your admin (Connections → Connect HighLevel)."
        )
    return GhlOAuthState.objects.select_related("agency", "started_by").get(state=value)


@dataclass(frozen=True)
class InstallOutcome:
    agency: Agency
    installation: GhlInstallation
    created_agency: bool


class _Collector(list[Record]):
    """Holds call records until we know which agency they belong to."""

    def __call__(self, record: Record) -> None:
        self.append(record)

    def write(self, installation: GhlInstallation) -> None:
        recorder = CallRecorder.for_installation(installation, priority="install")
        for record in self:
            recorder(record)
        recorder.flush()


def _run_with_token(grant: TokenGrant, op: ops.Operation[Any], collector: _Collector) -> Any:
    """One call with a token not stored yet (during the callback)."""
    app = ghl_app()

    def token(*, force: bool, stale: str | None) -> str:
        return grant.access_token

    wiring = Wiring(
        resource=grant.location_id or grant.company_id,
        token=token,
        governor=get_governor(),
        record=collector,
    )
    steps = execute(
        op.call, base_url=app.api_base, priority=Priority.INTERACTIVE, policy=RetryPolicy()
    )
    with httpx.Client(timeout=app.timeout, trust_env=False) as http:
        return op.parse(SyncDriver(http, wiring).run(steps))


def oauth_callback(*, code: str, state: str | None) -> InstallOutcome:
    """Finish an install. Any refusal raises ApplicationError with a message for the person, and
    then nothing has been stored (a consumed state aside)."""
    if not code:
        raise ApplicationError("HighLevel did not send an authorization code. Please try again.")
    flow = _consume_state(state) if state else None
    collector = _Collector()
    try:
        grant = exchange_code(code=code, redirect_uri=settings.GHL_REDIRECT_URI, record=collector)
        details = _run_with_token(grant, ops.installer_details(app_id=ghl_app().app_id), collector)
        location = (
            _run_with_token(grant, ops.location_get(location_id=grant.location_id), collector)
            if grant.location_id
            else None
        )
    except GhlError as exc:
        log.warning("ghl.install.exchange_failed", status=exc.status, error=exc.message)
        raise ApplicationError(
            f"HighLevel refused the connection ({exc.message}). Please start the connection "
            "again; if it keeps failing, contact support."
        ) from exc
    with transaction.atomic():
        outcome = _store_install(grant, details, location, flow)
    collector.write(outcome.installation)
    if grant.user_type == GhlInstallation.UserType.COMPANY:
        from integrations.tasks import ghl_company_locations_sync

        transaction.on_commit(lambda: ghl_company_locations_sync.delay(outcome.installation.pk))
    log.info(
        "ghl.install.completed",
        agency_id=outcome.agency.pk,
        installation_id=outcome.installation.pk,
        user_type=grant.user_type,
    )
    return outcome


def _store_install(
    grant: TokenGrant,
    details: ops.InstallerDetails,
    location: ops.GhlLocation | None,
    flow: GhlOAuthState | None,
) -> InstallOutcome:
    created = False
    if flow is not None and flow.agency is not None:
        agency = tenant_services.agency_link_ghl_company(
            agency=flow.agency, company_id=grant.company_id, acting_user=flow.started_by
        )
    else:
        created = not Agency.objects.filter(ghl_company_id=grant.company_id).exists()
        agency = tenant_services.agency_onboard_from_ghl(
            company_id=grant.company_id,
            name=str(details.get("companyName") or ""),
            logo_url=str((details.get("whitelabelDetails") or {}).get("logoUrl") or ""),
        )
    local = None
    if location is not None:
        local = tenant_services.location_ensure_for_ghl(
            agency=agency,
            ghl_location_id=grant.location_id,
            name=str(location.get("name") or ""),
            timezone_name=str(location.get("timezone") or ""),
        )
    installation = installation_store(agency=agency, grant=grant, location=local)
    return InstallOutcome(agency, installation, created)


# --- installations and their tokens --------------------------------------------------------------


def installation_store(
    *, agency: Agency, grant: TokenGrant, location: Location | None
) -> GhlInstallation:
    """Create or refresh the installation of `grant` and store its token pair (in the caller's
    transaction). A reinstall starts clean: new tokens, status healthy, errors cleared."""
    installation, _ = (
        GhlInstallation.objects.unscoped()
        .select_for_update()
        .get_or_create(
            ghl_company_id=grant.company_id,
            ghl_location_id=grant.location_id,
            defaults={"agency": agency, "user_type": grant.user_type},
        )
    )
    if installation.agency_id != agency.pk:
        raise ApplicationError("This HighLevel account is connected to another agency here.")
    now = timezone.now()
    installation.location = location or installation.location
    installation.user_type = grant.user_type
    installation.status = GhlInstallation.Status.HEALTHY
    installation.scopes = grant.scopes
    installation.plan_id = grant.plan_id or installation.plan_id
    installation.installed_by = grant.user_id or installation.installed_by
    installation.is_bulk = grant.is_bulk
    installation.install_to_future_locations = grant.install_to_future_locations
    installation.approve_all_locations = grant.approve_all_locations
    installation.access_expires_at = grant.expires_at
    installation.refreshed_at = now
    installation.last_error = ""
    installation.last_error_at = None
    installation.uninstalled_at = None
    was_healthy = installation.pk is not None and (
        GhlInstallation.objects.unscoped()
        .filter(pk=installation.pk, status=GhlInstallation.Status.HEALTHY)
        .exists()
    )
    installation.save()
    token = GhlToken.objects.filter(installation=installation).first()
    generation = token.generation + 1 if token is not None else 1
    GhlToken.objects.update_or_create(
        installation=installation,
        defaults={
            "access_token": grant.access_token,
            "refresh_token": grant.refresh_token,
            "expires_at": grant.expires_at,
            "generation": generation,
        },
    )
    transaction.on_commit(lambda: vault.unrevoke(installation.pk))
    transaction.on_commit(
        lambda: installation_connected.send(
            GhlInstallation, installation=installation, first=not was_healthy
        )
    )
    vault.forget(installation.pk)
    stored: GhlInstallation = installation
    return stored


def company_installation(company_id: str) -> GhlInstallation | None:
    """The agency-level installation of a GHL company, if it is connected."""
    found: GhlInstallation | None = (
        GhlInstallation.objects.unscoped()
        .filter(
            ghl_company_id=company_id,
            ghl_location_id="",
            status=GhlInstallation.Status.HEALTHY,
            token__isnull=False,
        )
        .select_related("agency")
        .first()
    )
    return found


def location_token_remint(*, installation: GhlInstallation) -> TokenGrant | None:
    """A fresh location token minted from the agency's token, or None without one."""
    company = company_installation(installation.ghl_company_id)
    if company is None:
        return None
    with GhlClient(company) as client:
        return client.run(
            ops.location_token(
                company_id=installation.ghl_company_id, location_id=installation.ghl_location_id
            )
        )


def location_install_from_company(
    *, company: GhlInstallation, location_id: str, name: str = ""
) -> GhlInstallation:
    """Mint a location token with the agency token and store the location's installation."""
    with GhlClient(company) as client:
        grant = client.run(
            ops.location_token(company_id=company.ghl_company_id, location_id=location_id)
        )
    collector = _Collector()
    details = _run_with_token(grant, ops.location_get(location_id=location_id), collector)
    with transaction.atomic():
        location = tenant_services.location_ensure_for_ghl(
            agency=company.agency,
            ghl_location_id=location_id,
            name=str(details.get("name") or name),
            timezone_name=str(details.get("timezone") or ""),
        )
        installation = installation_store(agency=company.agency, grant=grant, location=location)
    collector.write(installation)
    return installation


@dataclass
class LocationsSyncResult:
    installed: list[str]
    already: list[str]
    removed: list[str]
    failed: dict[str, str]


def company_locations_sync(*, company: GhlInstallation) -> LocationsSyncResult:
    """Make our location installations match GHL's list of installed locations for an agency."""
    app = ghl_app()
    result = LocationsSyncResult([], [], [], {})
    pager = SkipLimit(
        lambda skip, limit: ops.installed_locations(
            company_id=company.ghl_company_id, app_id=app.app_id, skip=skip, limit=limit
        ),
        key="locations",
    )
    with GhlClient(company) as client:
        installed = {
            str(row["_id"]): str(row.get("name") or "")
            for page in pages(client, pager)
            for row in page
        }
    ours = {
        inst.ghl_location_id: inst
        for inst in GhlInstallation.objects.for_agency(company.agency)
        .filter(ghl_company_id=company.ghl_company_id)
        .exclude(ghl_location_id="")
    }
    for location_id, name in installed.items():
        current = ours.get(location_id)
        if current is not None and current.status == GhlInstallation.Status.HEALTHY:
            result.already.append(location_id)
            continue
        try:
            location_install_from_company(company=company, location_id=location_id, name=name)
        except (GhlError, ApplicationError) as exc:
            result.failed[location_id] = str(exc)
            log.warning("ghl.install.location_failed", location_id=location_id, error=str(exc))
        else:
            result.installed.append(location_id)
    from .lifecycle import installation_uninstall

    for location_id, inst in ours.items():
        if location_id not in installed and inst.status != GhlInstallation.Status.UNINSTALLED:
            installation_uninstall(installation=inst, reason="not installed according to GHL")
            result.removed.append(location_id)
    log.info(
        "ghl.install.locations_synced",
        installation_id=company.pk,
        installed=len(result.installed),
        already=len(result.already),
        removed=len(result.removed),
        failed=len(result.failed),
    )
    return result


def token_refresh_plan(*, within: timedelta) -> list[tuple[int, float]]:
    """(installation, delay in seconds) for every token expiring within `within`: the delays are
    spread at random over a quarter of the margin (at most 10 minutes), so installs made together
    do not refresh in lockstep, and every refresh still lands well before expiry."""
    due = (
        GhlInstallation.objects.unscoped()
        .filter(
            status__in=[GhlInstallation.Status.HEALTHY, GhlInstallation.Status.PAUSED],
            access_expires_at__lt=timezone.now() + within,
            token__isnull=False,
        )
        .values_list("pk", flat=True)
    )
    spread = min(600.0, within.total_seconds() / 4)
    return [(pk, random.uniform(0, spread)) for pk in due]  # noqa: S311
