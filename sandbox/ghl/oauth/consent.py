"""The Marketplace consent page (``/v2/oauth/chooselocation`` and the legacy path).

A demo agency user chooses an agency-level install (optionally for all or some sub-accounts and
future ones) or a single sub-account; the page then redirects to ``redirect_uri?code=...``
(echoing ``state``). Invalid requests get an error page and are never redirected.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from sandbox.ghl.oauth.installs import (
    ConsentRequest,
    InstallError,
    perform_install,
    validate_consent,
)
from sandbox.ghl.state import SandboxState

Endpoint = Callable[[Request], Awaitable[Response]]
STYLE = """body{font-family:system-ui,sans-serif;max-width:760px;margin:2rem auto;color:#1f2937}
fieldset{border:1px solid #d1d5db;border-radius:8px;margin:1rem 0;padding:1rem}
legend{font-weight:600}.muted{color:#6b7280;font-size:.9em}button{padding:.6rem 1.4rem;
background:#155eef;color:#fff;border:0;border-radius:6px;font-size:1rem}
.err{background:#fef3f2;border:1px solid #fda29b;padding:1rem;border-radius:8px}"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status)


def _error(message: str) -> HTMLResponse:
    body = (
        f"<h1>Cannot install this app</h1><div class='err'>{escape(message)}</div>"
        "<p class='muted'>GHL stand-in: the request was not redirected.</p>"
    )
    return _page("Install error", body, status=400)


def _form(state: SandboxState, consent: ConsentRequest, action: str) -> str:
    hidden = "".join(
        f"<input type='hidden' name='{k}' value='{escape(v)}'>"
        for k, v in (
            ("client_id", consent.app.client_id),
            ("redirect_uri", consent.redirect_uri),
            ("scope", " ".join(consent.scopes)),
            ("state", consent.state or ""),
        )
    )
    sections = []
    for company in state.world.companies.values():
        admin = state.world.agency_admin(company.id)
        who = f"{admin.first_name} {admin.last_name} &lt;{escape(admin.email)}&gt;" if admin else ""
        locations = sorted(state.world.company_locations(company.id), key=lambda loc: loc.name)
        rows = "".join(
            f"<label><input type='radio' name='target' value='location:{escape(loc.id)}'> "
            f"{escape(loc.name)} <span class='muted'>({escape(loc.id)})</span></label><br>"
            for loc in locations
        )
        approve = "".join(
            f"<label><input type='checkbox' name='approved' value='{escape(loc.id)}'> "
            f"{escape(loc.name)}</label><br>"
            for loc in locations
        )
        sections.append(
            f"<fieldset><legend>{escape(company.name)}</legend>"
            f"<p class='muted'>Signed in as {who}</p>"
            f"<p><b>Install to a sub-account</b></p>{rows}"
            f"<p><label><input type='radio' name='target' value='company:{escape(company.id)}'> "
            f"<b>Install for the agency</b> (Company token)</label></p>"
            f"<div style='margin-left:1.5rem'>{approve}"
            "<label><input type='checkbox' name='approve_all' value='1'> All sub-accounts</label>"
            "<br><label><input type='checkbox' name='future' value='1'> "
            "Install to future sub-accounts</label></div></fieldset>"
        )
    scopes = "".join(f"<li>{escape(s)}</li>" for s in consent.scopes)
    return (
        f"<h1>Install {escape(consent.app.name)}</h1>"
        f"<p class='muted'>client_id {escape(consent.app.client_id)}</p>"
        f"<details><summary>Requested scopes ({len(consent.scopes)})</summary><ul>{scopes}</ul>"
        f"</details><form method='post' action='{escape(action)}'>{hidden}{''.join(sections)}"
        "<button type='submit' id='install'>Allow &amp; Install</button></form>"
    )


def consent_endpoints(state: SandboxState) -> tuple[Endpoint, Endpoint]:
    async def show(request: Request) -> Response:
        q = request.query_params
        try:
            consent = validate_consent(
                state, q.get("client_id"), q.get("redirect_uri"), q.get("scope"), q.get("state")
            )
        except InstallError as exc:
            return _error(str(exc))
        if q.get("response_type", "code") != "code":
            return _error("response_type must be code")
        return _page("Choose account", _form(state, consent, request.url.path))

    async def submit(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))

        def first(name: str) -> str | None:
            values = form.get(name)
            return values[0] if values else None

        try:
            consent = validate_consent(
                state,
                first("client_id"),
                first("redirect_uri"),
                first("scope"),
                first("state") or None,
            )
            kind, _, target = (first("target") or "").partition(":")
            if kind == "location":
                location = state.world.locations.get(target)
                if location is None:
                    raise InstallError("Unknown sub-account")
                installation = perform_install(
                    state, consent.app, consent.scopes, location.company_id, location_id=target
                )
            elif kind == "company":
                installation = perform_install(
                    state,
                    consent.app,
                    consent.scopes,
                    target,
                    approved=form.get("approved", []),
                    approve_all=bool(first("approve_all")),
                    future=bool(first("future")),
                )
            else:
                raise InstallError("Choose a sub-account or the agency.")
        except InstallError as exc:
            return _error(str(exc))
        code = state.tokens.issue_code(installation, consent.redirect_uri, state.config.code_ttl_s)
        params = {"code": code} | ({"state": consent.state} if consent.state else {})
        separator = "&" if "?" in consent.redirect_uri else "?"
        return RedirectResponse(f"{consent.redirect_uri}{separator}{urlencode(params)}", 302)

    return show, submit
