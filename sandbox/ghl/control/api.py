"""``/_sandbox`` JSON endpoints: reset, seed, config, apps, faults, counters, logs, events,
installs and tokens. Used by tests, benchmarks and demos; GHL has nothing like it."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sandbox.ghl.config import MarketplaceApp
from sandbox.ghl.control.events import EventError, create_location, trigger
from sandbox.ghl.faults import FaultSpec
from sandbox.ghl.oauth.endpoints import token_response
from sandbox.ghl.oauth.installs import InstallError, perform_install
from sandbox.ghl.oauth.tokens import AccessToken, RefreshToken
from sandbox.ghl.pipeline import ApiRouter
from sandbox.ghl.seed.generator import seed_location
from sandbox.ghl.seed.scenario import add_company
from sandbox.ghl.state import SandboxState

Endpoint = Callable[[Request], Awaitable[Response]]


class ControlError(ValueError):
    pass


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ControlError(f"malformed JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ControlError("body must be a JSON object")
    return data


def _guard(handler: Endpoint) -> Endpoint:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except (ControlError, EventError, InstallError, ValueError, KeyError, TypeError) as exc:
            return _json({"error": str(exc)}, 400)

    return wrapped


def control_routes(state: SandboxState, router: ApiRouter) -> list[Route]:
    def app_for(client_id: str | None) -> MarketplaceApp:
        if client_id:
            app = state.config.apps.get(client_id) or state.config.app_by_app_id(client_id)
        elif len(state.config.apps) == 1:
            app = next(iter(state.config.apps.values()))
        else:
            raise ControlError("clientId is required when several apps are registered")
        if app is None:
            raise ControlError(f"unknown app {client_id!r}")
        return app

    async def health(request: Request) -> Response:
        return _json(
            {
                "status": "ok",
                "spec": state.spec is not None,
                "scenario": state.scenario,
                "timeFactor": state.clock.factor,
                "webhooksIdle": state.webhooks.idle(),
            }
        )

    async def keys(request: Request) -> Response:
        return _json(state.keys.public_pems())

    async def key_pem(request: Request) -> Response:
        pems = state.keys.public_pems()
        name = request.path_params["name"]
        if name not in pems:
            return PlainTextResponse("unknown key", status_code=404)
        return PlainTextResponse(pems[name], media_type="application/x-pem-file")

    async def routes(request: Request) -> Response:
        return _json(
            [
                {
                    "method": r.method,
                    "path": r.path,
                    "spec": r.spec,
                    "operationId": r.operation_id,
                    "version": r.version,
                    "status": r.status,
                    "body": r.body,
                    "scopeFallback": r.scope_fallback,
                    "security": [
                        {"scheme": s.scheme, "scopes": list(s.scopes)} for s in r.security
                    ],
                }
                for r in router.routes
            ]
        )

    async def reset(request: Request) -> Response:
        body = await _body(request)
        state.reset(body.get("scenario"), keep_config=bool(body.get("keepConfig")))
        return _json({"status": "reset", "scenario": state.scenario})

    async def config(request: Request) -> Response:
        if request.method == "POST":
            state.apply_config(await _body(request))
        data = state.config.to_dict()
        for app in data["apps"].values():
            app["client_secret"] = "***"  # noqa: S105 (masking: never echo secrets)
        return _json(data)

    async def apps(request: Request) -> Response:
        body = await _body(request)
        existing = state.config.apps.get(str(body.get("client_id", "")))
        # A known client_id is a partial update (e.g. just the webhook URL); else a new app.
        data = (asdict(existing) | body) if existing is not None else body
        app = MarketplaceApp.from_dict(data)
        state.config.add_app(app)
        return _json({"clientId": app.client_id, "appId": app.app_id}, 200 if existing else 201)

    async def seed(request: Request) -> Response:
        body = await _body(request)
        started = time.perf_counter()
        if body.get("company"):
            add_company(state, body["company"], int(body.get("seed", 1)))
        if body.get("location"):
            create_location(state, body["location"])
            body.setdefault("locationId", body["location"].get("id"))
        location = state.world.locations.get(str(body.get("locationId", "")))
        if location is None:
            raise ControlError("locationId must name an existing location (or pass location)")
        made = seed_location(
            state,
            location,
            seed=int(body.get("seed", 1)),
            **{
                k: int(body.get(k, 0))
                for k in ("contacts", "opportunities", "appointments", "conversations", "users")
            },
        )
        return _json(
            {
                "locationId": location.id,
                "created": made,
                "seconds": round(time.perf_counter() - started, 3),
            }
        )

    async def locations(request: Request) -> Response:
        location = create_location(state, await _body(request))
        return _json({"location": location.to_api(state.world.companies[location.company_id])}, 201)

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            state.faults.clear(request.query_params.get("resource"))
        elif request.method == "POST":
            body = await _body(request)
            resource = body.pop("resource", None) or body.pop("locationId", None) or "*"
            paused = body.pop("paused", None)
            revoke = body.pop("revokeTokens", None)
            if paused is not None:
                location = state.world.locations.get(resource)
                if location is None:
                    raise ControlError("paused needs a locationId")
                location.active = not paused
            if revoke:

                def hit(t: AccessToken | RefreshToken) -> bool:
                    mine = resource == "*" or (t.location_id or t.company_id) == resource
                    return mine and (revoke == "all" or isinstance(t, AccessToken))

                count = state.tokens.revoke(hit)
                state.metrics.count(resource, "faults_injected", count)
            if body:
                state.faults.set(resource, FaultSpec.from_dict(body))
        return _json({k: v.to_dict() for k, v in state.faults.specs.items()})

    async def counters(request: Request) -> Response:
        return _json(state.metrics.snapshot(request.query_params.get("resource")))

    async def requests_log(request: Request) -> Response:
        q = request.query_params
        return _json(
            state.metrics.requests(
                q.get("resource"), int(q.get("limit", 100)), int(q.get("since", 0))
            )
        )

    async def webhooks(request: Request) -> Response:
        q = request.query_params
        rows = list(state.webhooks.log)
        for key, attr in (("status", "status"), ("type", "event_type"), ("resource", "resource")):
            if q.get(key):
                rows = [d for d in rows if getattr(d, attr) == q[key]]
        limit = int(q.get("limit", 200))
        include_body = q.get("body", "1") != "0"
        return _json(
            {
                "idle": state.webhooks.idle(),
                "deliveries": [d.to_dict(include_body) for d in rows[-limit:]],
            }
        )

    async def events(request: Request) -> Response:
        return _json(trigger(state, await _body(request)))

    async def install(request: Request) -> Response:
        body = await _body(request)
        app = app_for(body.get("clientId"))
        location_id = body.get("locationId")
        company_id = body.get("companyId") or (
            state.world.locations[location_id].company_id
            if location_id in state.world.locations
            else None
        )
        if not company_id:
            raise ControlError("companyId or a known locationId is required")
        scopes = body.get("scopes") or app.scopes
        installation = perform_install(
            state,
            app,
            scopes,
            company_id,
            location_id=location_id,
            approved=body.get("approvedLocations", []),
            approve_all=bool(body.get("approveAll")),
            future=bool(body.get("futureLocations")),
            emit=body.get("emitInstall", True),
        )
        redirect = body.get("redirectUri") or app.redirect_uris[0]
        if redirect not in app.redirect_uris:
            raise ControlError("redirectUri is not registered for this app")
        code = state.tokens.issue_code(installation, redirect, state.config.code_ttl_s)
        return _json(
            {
                "code": code,
                "redirectUrl": f"{redirect}?code={code}",
                "userType": installation.user_type,
                "companyId": company_id,
                "locationId": location_id,
            },
            201,
        )

    async def tokens(request: Request) -> Response:
        body = await _body(request)
        app = app_for(body.get("clientId"))
        location_id = body.get("locationId")
        company_id = body.get("companyId") or (
            state.world.locations[location_id].company_id if location_id else None
        )
        if not company_id:
            raise ControlError("locationId or companyId is required")
        target = location_id or company_id
        installation = state.tokens.installation(app.client_id, target) or perform_install(
            state,
            app,
            body.get("scopes") or app.scopes,
            company_id,
            location_id=location_id,
            approve_all=location_id is None,
            emit=False,
        )
        cfg = state.config
        access, refresh = state.tokens.mint(
            installation,
            location_id,
            cfg.access_token_ttl_s,
            cfg.refresh_token_ttl_s,
            app.version_id,
        )
        return _json(token_response(state, installation, access, refresh), 201)

    async def expire(request: Request) -> Response:
        body = await _body(request)
        if body.get("accessToken"):
            return _json({"expired": int(state.tokens.expire(body["accessToken"]))})
        target = body.get("locationId") or body.get("companyId")
        count = 0
        for token in state.tokens.access.values():
            if token.resource_id == target:
                count += state.tokens.expire(token.token)
        return _json({"expired": count})

    table: list[tuple[str, Endpoint, list[str]]] = [
        ("/_sandbox/health", health, ["GET"]),
        ("/_sandbox/keys", keys, ["GET"]),
        ("/_sandbox/keys/{name}.pem", key_pem, ["GET"]),
        ("/_sandbox/routes", routes, ["GET"]),
        ("/_sandbox/reset", reset, ["POST"]),
        ("/_sandbox/config", config, ["GET", "POST"]),
        ("/_sandbox/apps", apps, ["POST"]),
        ("/_sandbox/seed", seed, ["POST"]),
        ("/_sandbox/locations", locations, ["POST"]),
        ("/_sandbox/faults", faults, ["GET", "POST", "DELETE"]),
        ("/_sandbox/counters", counters, ["GET"]),
        ("/_sandbox/requests", requests_log, ["GET"]),
        ("/_sandbox/webhooks", webhooks, ["GET"]),
        ("/_sandbox/events", events, ["POST"]),
        ("/_sandbox/install", install, ["POST"]),
        ("/_sandbox/tokens", tokens, ["POST"]),
        ("/_sandbox/tokens/expire", expire, ["POST"]),
    ]
    return [Route(path, _guard(handler), methods=methods) for path, handler, methods in table]
