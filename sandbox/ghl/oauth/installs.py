"""Installing and uninstalling a marketplace app, shared by the consent page and control API."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sandbox.ghl.config import MarketplaceApp
from sandbox.ghl.oauth.tokens import Installation
from sandbox.ghl.state import SandboxState


class InstallError(ValueError):
    """A consent request GHL would refuse (shown on an error page, never redirected)."""


@dataclass(frozen=True)
class ConsentRequest:
    app: MarketplaceApp
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None


def validate_consent(
    state: SandboxState,
    client_id: str | None,
    redirect_uri: str | None,
    scope: str | None,
    oauth_state: str | None,
) -> ConsentRequest:
    app = state.config.apps.get(client_id or "")
    if app is None:
        raise InstallError("Unknown client_id: no marketplace app is registered with it.")
    if redirect_uri and redirect_uri not in app.redirect_uris:
        raise InstallError("The redirect_uri is not registered for this app.")
    if not app.redirect_uris:
        raise InstallError("The app has no redirect URI registered.")
    requested = tuple((scope or "").split()) or tuple(app.scopes)
    extra = sorted(set(requested) - set(app.scopes))
    if extra:
        raise InstallError(f"Scopes not enabled for this app: {', '.join(extra)}")
    return ConsentRequest(app, redirect_uri or app.redirect_uris[0], requested, oauth_state)


def perform_install(
    state: SandboxState,
    app: MarketplaceApp,
    scopes: Iterable[str],
    company_id: str,
    location_id: str | None = None,
    approved: Iterable[str] = (),
    approve_all: bool = False,
    future: bool = False,
    user_id: str | None = None,
    emit: bool = True,
) -> Installation:
    world = state.world
    company = world.companies.get(company_id)
    if company is None:
        raise InstallError(f"Unknown company {company_id}")
    company_locations = {loc.id for loc in world.company_locations(company_id)}
    if location_id is not None and location_id not in company_locations:
        raise InstallError(f"Location {location_id} does not belong to company {company_id}")
    approved_ids = sorted(company_locations) if approve_all else list(dict.fromkeys(approved))
    unknown = [a for a in approved_ids if a not in company_locations]
    if unknown:
        raise InstallError(f"Locations not in company {company_id}: {', '.join(unknown)}")
    admin = world.agency_admin(company_id)
    installation = Installation(
        client_id=app.client_id,
        company_id=company_id,
        location_id=location_id,
        user_id=user_id or (admin.id if admin else ""),
        scopes=tuple(scopes),
        approved_locations=[] if location_id else approved_ids,
        approve_all=approve_all and location_id is None,
        future=future and location_id is None,
        is_bulk=location_id is None and bool(approved_ids),
        plan_id=app.plan_id,
    )
    state.tokens.install(installation)
    if emit:
        state.emit_install(installation)
    return installation


def uninstall(
    state: SandboxState,
    app: MarketplaceApp,
    company_id: str,
    location_id: str | None,
    emit: bool = True,
) -> bool:
    """Remove an installation (a single location of an agency install, or the whole install)."""
    tokens = state.tokens
    removed = False
    if location_id is not None:
        if tokens.uninstall(app.client_id, location_id) is not None:
            removed = True
        agency = tokens.installation(app.client_id, company_id)
        if agency is not None and (agency.approve_all or location_id in agency.approved_locations):
            if agency.approve_all:
                agency.approve_all = False
                agency.approved_locations = [
                    loc.id for loc in state.world.company_locations(company_id)
                ]
            agency.approved_locations.remove(location_id)
            tokens.revoke(lambda t: t.client_id == app.client_id and t.location_id == location_id)
            removed = True
    else:
        for key in [
            k
            for k, inst in tokens.installs.items()
            if k[0] == app.client_id and inst.company_id == company_id
        ]:
            tokens.uninstall(*key)
            removed = True
    if removed and emit:
        payload: dict[str, str] = {"appId": app.app_id}
        if location_id is not None:
            payload["locationId"] = location_id
        else:
            payload["companyId"] = company_id
        state.webhooks.emit(app, "UNINSTALL", payload, location_id or company_id)
    return removed
