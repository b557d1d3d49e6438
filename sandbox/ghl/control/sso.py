"""``/_sandbox/sso/...``: encrypted user contexts and the CRM frame around a custom menu link.

* ``POST /_sandbox/sso/payload`` ``{userId, companyId, type, activeLocation?, email, userName,
  role, clientId?, secret?}`` → ``{"payload": …}`` encrypted with the app's shared secret (or
  ``secret``, to test a wrong one);
* ``GET /_sandbox/sso/frame?url=…&<the same fields>`` → a page that frames ``url`` and answers
  its ``REQUEST_USER_DATA`` with a fresh payload, as GHL's app does around a custom menu link.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from sandbox.ghl import sso
from sandbox.ghl.state import SandboxState


def _secret(state: SandboxState, data: dict[str, Any]) -> str:
    if data.get("secret"):
        return str(data["secret"])
    client_id = data.get("clientId")
    apps = state.config.apps
    app = (apps.get(client_id) or state.config.app_by_app_id(client_id)) if client_id else None
    if app is None and len(apps) == 1:
        app = next(iter(apps.values()))
    if app is None:
        raise ValueError("clientId is required (no single registered app)")
    return app.sso_shared_secret


def sso_routes(state: SandboxState) -> list[Route]:
    async def payload(request: Request) -> Response:
        try:
            data = await request.json()
            if not isinstance(data, dict):
                raise ValueError("body must be a JSON object")
            return JSONResponse({"payload": sso.encrypted_context(data, _secret(state, data))})
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    async def frame(request: Request) -> Response:
        data = dict(request.query_params)
        url = data.pop("url", "")
        if urlsplit(url).scheme not in ("http", "https"):
            return JSONResponse({"error": "url must be an http(s) URL"}, status_code=400)
        try:
            encrypted = sso.encrypted_context(data, _secret(state, data))
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        who = data.get("email", "nobody")
        return HTMLResponse(sso.parent_page(url, encrypted, who))

    return [
        Route("/_sandbox/sso/payload", payload, methods=["POST"]),
        Route("/_sandbox/sso/frame", frame, methods=["GET"]),
    ]
