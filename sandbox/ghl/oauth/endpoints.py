"""``POST /oauth/token``, ``/oauth/locationToken``, ``/oauth/installedLocations`` and the
marketplace installation endpoints (REFERENCE §1.2-1.6)."""

from __future__ import annotations

import math
from typing import Any

from sandbox.ghl import errors
from sandbox.ghl.api.common import V7, route
from sandbox.ghl.config import MarketplaceApp
from sandbox.ghl.errors import ApiError
from sandbox.ghl.oauth.installs import uninstall
from sandbox.ghl.oauth.tokens import AccessToken, Installation, RefreshToken
from sandbox.ghl.pipeline import ApiRoute, Ctx, Security
from sandbox.ghl.state import SandboxState

GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")


def _expires_in(state: SandboxState) -> int:
    # Real seconds, so a client refreshing "ahead of expiry" does so in wall-clock time.
    return max(1, math.ceil(state.clock.to_real(state.config.access_token_ttl_s)))


def token_response(
    state: SandboxState, installation: Installation, access: AccessToken, refresh: RefreshToken
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "access_token": access.token,
        "token_type": "Bearer",
        "expires_in": _expires_in(state),
        "refresh_token": refresh.token,
        "scope": " ".join(installation.scopes),
        "userType": access.user_type,
        "companyId": installation.company_id,
        "userId": installation.user_id,
        "isBulkInstallation": installation.is_bulk,
    }
    if access.location_id:
        out["locationId"] = access.location_id
    else:
        out |= {
            "approvedLocations": list(installation.approved_locations),
            "installToFutureLocations": installation.future,
            "approveAllLocations": installation.approve_all,
        }
    if installation.plan_id:
        out["planId"] = installation.plan_id
    return out


def _mint(
    state: SandboxState, app: MarketplaceApp, installation: Installation, location_id: str | None
) -> tuple[AccessToken, RefreshToken]:
    cfg = state.config
    return state.tokens.mint(
        installation, location_id, cfg.access_token_ttl_s, cfg.refresh_token_ttl_s, app.version_id
    )


def _location_inactive(state: SandboxState, location_id: str | None) -> bool:
    location = state.world.locations.get(location_id or "")
    return location is not None and not location.active


async def token(ctx: Ctx) -> Any:
    state, body = ctx.state, ctx.body if isinstance(ctx.body, dict) else {}
    for name in ("client_id", "client_secret", "grant_type"):
        if not body.get(name):
            raise errors.bad_request(f"Missing parameter: {name}")
    grant = body["grant_type"]
    if grant not in GRANT_TYPES or grant == "client_credentials":
        raise errors.bad_request("Invalid parameter: grant_type")
    user_type = body.get("user_type")
    if user_type not in (None, "", "Company", "Location"):
        raise errors.bad_request("Invalid parameter: user_type")
    app = state.config.apps.get(body["client_id"])
    if app is None or app.client_secret != body["client_secret"]:
        raise ApiError(401, "Invalid client: client credentials are invalid")
    if grant == "authorization_code":
        return _exchange_code(state, app, body, user_type)
    return _refresh(state, app, body, user_type)


def _exchange_code(
    state: SandboxState, app: MarketplaceApp, body: dict[str, Any], user_type: str | None
) -> Any:
    if not body.get("code"):
        raise errors.bad_request("Missing parameter: code")
    record = state.tokens.codes.get(body["code"])
    if (
        record is None
        or record.used
        or record.client_id != app.client_id
        or record.expires_at <= state.clock.now()
    ):
        raise errors.bad_request(errors.INVALID_CODE)
    if body.get("redirect_uri") and body["redirect_uri"] != record.redirect_uri:
        raise errors.bad_request("Invalid parameter: redirect_uri")
    installation = state.tokens.installs.get(record.install_key)
    if installation is None:
        raise errors.bad_request(errors.INVALID_CODE)
    if user_type and user_type != installation.user_type:
        raise errors.bad_request("Invalid parameter: user_type")
    record.used = True
    access, refresh = _mint(state, app, installation, installation.location_id)
    state.metrics.count(installation.target_id, "token_exchanges")
    return token_response(state, installation, access, refresh)


def _refresh(
    state: SandboxState, app: MarketplaceApp, body: dict[str, Any], user_type: str | None
) -> Any:
    if not body.get("refresh_token"):
        raise errors.bad_request("Missing parameter: refresh_token")
    old = state.tokens.refresh.get(body["refresh_token"])
    if (
        old is None
        or old.revoked
        or old.client_id != app.client_id
        or old.expires_at <= state.clock.now()
    ):
        raise errors.bad_request(errors.INVALID_REFRESH)
    resource = old.location_id or old.company_id
    if old.used:
        state.metrics.count(resource, "refresh_token_reuse")
        raise errors.bad_request(errors.INVALID_REFRESH)
    installation = state.tokens.installs.get(old.install_key)
    if installation is None:
        raise errors.bad_request(errors.INVALID_REFRESH)
    if _location_inactive(state, old.location_id):
        # The token is not consumed: it works again once the location is active.
        raise errors.bad_request(errors.LOCATION_NOT_ACTIVE)
    if user_type and user_type != old.user_type:
        raise errors.bad_request("Invalid parameter: user_type")
    old.used = True
    access, refresh = _mint(state, app, installation, old.location_id)
    state.metrics.count(resource, "refreshes")
    return token_response(state, installation, access, refresh)


async def location_token(ctx: Ctx) -> Any:
    state, token = ctx.state, ctx.auth
    body = ctx.body if isinstance(ctx.body, dict) else {}
    missing = [f"{k} should not be empty" for k in ("companyId", "locationId") if not body.get(k)]
    if missing:
        raise errors.unprocessable(*missing)
    if body["companyId"] != token.company_id:
        raise errors.forbidden("The token does not have access to this company")
    location = state.world.locations.get(body["locationId"])
    if location is None or location.company_id != token.company_id:
        raise errors.bad_request("Location not found in this company")
    if not state.tokens.is_installed(token.client_id, location.id, location.company_id):
        raise errors.bad_request("The app is not installed on this location")
    if not location.active:
        raise errors.bad_request(errors.LOCATION_NOT_ACTIVE)
    installation = state.tokens.installs[token.install_key]
    app = state.config.apps[token.client_id]
    access, refresh = _mint(state, app, installation, location.id)
    state.metrics.count(location.id, "location_tokens")
    return token_response(state, installation, access, refresh) | {
        "appId": app.app_id,
        "versionId": app.version_id,
    }


async def installed_locations(ctx: Ctx) -> Any:
    state, token = ctx.state, ctx.auth
    company_id, app_id = ctx.require_query("companyId"), ctx.require_query("appId")
    if company_id != token.company_id:
        raise errors.forbidden("The token does not have access to this company")
    app = state.config.apps[token.client_id]
    if app_id != app.app_id:
        raise errors.forbidden("The token does not belong to this app")
    skip, limit = ctx.int_query("skip", 0, 0), ctx.int_query("limit", 20, 1, 1000)
    rows = []
    for location in sorted(state.world.company_locations(company_id), key=lambda loc: loc.name):
        installed = state.tokens.is_installed(token.client_id, location.id, company_id)
        record = state.tokens.installation(token.client_id, location.id) or (
            state.tokens.installation(token.client_id, company_id)
        )
        row: dict[str, Any] = {
            "_id": location.id,
            "name": location.name,
            "address": location.address,
            "isInstalled": installed,
        }
        if installed and record is not None:
            row |= {"versionId": app.version_id, "installedAt": record.installed_at}
        rows.append(row)
    wanted = ctx.query("isInstalled")
    if wanted in ("true", "false"):
        rows = [r for r in rows if r["isInstalled"] is (wanted == "true")]
    query = (ctx.query("query") or "").lower()
    if query:
        rows = [r for r in rows if query in r["name"].lower()]
    if ctx.query("locationId"):
        rows = [r for r in rows if r["_id"] == ctx.query("locationId")]
    agency = state.tokens.installation(token.client_id, company_id)
    return {
        "locations": rows[skip : skip + limit],
        "count": len(rows),
        "installToFutureLocations": bool(agency and agency.future),
    }


def _app_for(ctx: Ctx) -> MarketplaceApp:
    app = ctx.state.config.apps[ctx.auth.client_id]
    if ctx.params["appId"] != app.app_id:
        raise errors.forbidden("The token does not belong to this app")
    return app


async def delete_installation(ctx: Ctx) -> Any:
    app, token = _app_for(ctx), ctx.auth
    body = ctx.body if isinstance(ctx.body, dict) else {}
    if token.location_id is not None:
        if body.get("locationId") not in (None, token.location_id):
            raise errors.forbidden()
        location_id: str | None = token.location_id
    else:
        if body.get("companyId") not in (None, token.company_id):
            raise errors.forbidden("The token does not have access to this company")
        location_id = body.get("locationId")
        if location_id is not None:
            ctx.location(location_id)
    if not uninstall(ctx.state, app, token.company_id, location_id):
        raise errors.bad_request("The app is not installed")
    return {"success": True}


async def installer_details(ctx: Ctx) -> Any:
    app, token, world = _app_for(ctx), ctx.auth, ctx.state.world
    company = world.companies[token.company_id]
    installation = ctx.state.tokens.installs.get(token.install_key)
    details: dict[str, Any] = {
        "companyId": company.id,
        "companyName": company.name,
        "relationshipNumber": company.relationship_number,
        "companyEmail": company.email,
        "companyOwnerFullName": company.owner_name,
        "userId": installation.user_id if installation else "",
        "isWhitelabelCompany": company.is_whitelabel,
        "companyPlan": company.plan,
        "companyHighLevelPlan": company.plan,
        "marketplaceAppPlanId": app.plan_id or "",
        "whitelabelDetails": {"domain": company.whitelabel_domain, "logoUrl": company.logo_url},
    }
    if token.location_id:
        details["locationId"] = token.location_id
    return {"installationDetails": details}


def routes() -> list[ApiRoute]:
    installs_path = "/marketplace/app/{appId}/installations"
    installer = "marketplace-installer-details.readonly"
    return [
        route("POST", "/oauth/token", "oauth", "get-access-token", None, [], token, body="form"),
        route(
            "POST",
            "/oauth/locationToken",
            "oauth",
            "get-location-access-token",
            V7,
            [Security("Agency-Access-Only", ("oauth.write",))],
            location_token,
            body="form",
        ),
        route(
            "GET",
            "/oauth/installedLocations",
            "oauth",
            "get-installed-location",
            V7,
            [Security("Agency-Access-Only", ("oauth.readonly",))],
            installed_locations,
        ),
        route(
            "DELETE",
            installs_path,
            "marketplace",
            "uninstall-application",
            V7,
            [
                Security("Location-Access-Only", ("oauth.write",)),
                Security("Agency-Access", ("oauth.write",)),
            ],
            delete_installation,
            body="json",
        ),
        route(
            "GET",
            installs_path,
            "marketplace",
            "get-installer-details",
            V7,
            [
                Security("Location-Access-Only", (installer,)),
                Security("Agency-Access-Only", (installer,)),
            ],
            installer_details,
        ),
    ]
