"""ASGI assembly: the GHL API router on the fast path, Starlette for control and consent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from sandbox.ghl.api.routes import api_routes
from sandbox.ghl.control.api import control_routes
from sandbox.ghl.control.page import status_page
from sandbox.ghl.control.sso import sso_routes
from sandbox.ghl.control.traffic import traffic_routes
from sandbox.ghl.oauth.consent import consent_endpoints
from sandbox.ghl.pipeline import ApiRouter
from sandbox.ghl.state import SandboxState
from sandbox.ghl.traffic import DemoTraffic

CONSENT_PATHS = ("/v2/oauth/chooselocation", "/oauth/chooselocation")


class StandInApp:
    def __init__(self, state: SandboxState, traffic: DemoTraffic | None = None) -> None:
        self.state = state
        self.traffic = traffic or DemoTraffic(state)
        self.router = ApiRouter(state, api_routes())
        show, submit = consent_endpoints(state)
        routes = control_routes(state, self.router)
        routes += sso_routes(state)
        routes += traffic_routes(self.traffic)
        routes.append(Route("/_sandbox/", status_page(state), methods=["GET"]))

        async def to_page(_request: Request) -> Response:
            return RedirectResponse("/_sandbox/", 307)

        routes.append(Route("/_sandbox", to_page, methods=["GET"]))
        for path in CONSENT_PATHS:
            routes.append(Route(path, show, methods=["GET"]))
            routes.append(Route(path, submit, methods=["POST"]))
        self.control = Starlette(routes=routes, lifespan=self._lifespan)

    @asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        await self.state.webhooks.start()
        if self.traffic.autostart:
            self.traffic.start()
        try:
            yield
        finally:
            # Traffic first, so no round runs against a dispatcher that is shutting down.
            await self.traffic.aclose()
            await self.state.webhooks.stop()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] == "http"
            and not path.startswith("/_sandbox")
            and (path not in CONSENT_PATHS)
        ):
            await self.router(scope, receive, send)
        else:
            await self.control(scope, receive, send)
