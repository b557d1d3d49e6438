"""``GET /_sandbox/``: a small status page for humans (demo and debugging)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse

from sandbox.ghl.state import SandboxState

STYLE = """body{font-family:system-ui,sans-serif;margin:2rem;color:#1f2937}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #e5e7eb;
padding:.3rem .6rem;font-size:.9em;text-align:left}th{background:#f9fafb}code{font-size:.85em}"""


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def status_page(state: SandboxState) -> Callable[[Request], Awaitable[HTMLResponse]]:
    async def page(request: Request) -> HTMLResponse:
        world = state.world
        apps = [
            [a.name, a.client_id, a.app_id, a.webhook_url or "-", ", ".join(a.redirect_uris)]
            for a in state.config.apps.values()
        ]
        locations = [
            [
                loc.name,
                loc.id,
                loc.company_id,
                loc.timezone,
                len(loc.data.contacts),
                len(loc.data.opportunities),
                len(loc.data.calendars.appointments),
                "active" if loc.active else "paused",
            ]
            for loc in world.locations.values()
        ]
        installs = [
            [i.client_id, i.user_type, i.target_id, len(i.approved_locations), i.installed_at]
            for i in state.tokens.installs.values()
        ]
        totals = state.metrics.snapshot()["totals"]
        recent = [
            [r["seq"], r["method"], r["path"], r["status"], r["resource"], r["durationMs"]]
            for r in state.metrics.requests(limit=25)
        ]
        deliveries = [
            [d.id, d.event_type, d.resource, d.status, d.attempts, d.reason or ""]
            for d in list(state.webhooks.log)[-25:]
        ]
        cfg = state.config
        html = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>GHL stand-in</title>"
            f"<style>{STYLE}</style></head><body><h1>GHL stand-in</h1>"
            f"<p>Scenario <code>{escape(str(state.scenario))}</code> · time factor "
            f"{state.clock.factor} · burst {cfg.rate_limits.burst_max}/"
            f"{cfg.rate_limits.burst_window_s}s · daily {cfg.rate_limits.daily_limit}"
            f"{' (unlimited)' if cfg.rate_limits.unlimited else ''} · spec "
            f"{'loaded' if state.spec else 'missing'}</p>"
            "<h2>Apps</h2>"
            + _table(["name", "client_id", "appId", "webhook", "redirects"], apps)
            + "<h2>Locations</h2>"
            + _table(
                [
                    "name",
                    "id",
                    "company",
                    "timezone",
                    "contacts",
                    "opportunities",
                    "appointments",
                    "state",
                ],
                locations,
            )
            + "<h2>Installations</h2>"
            + _table(["client", "type", "target", "approved", "at"], installs)
            + "<h2>Counters</h2>"
            + _table(list(totals), [list(totals.values())])
            + "<h2>Recent requests</h2>"
            + _table(["#", "method", "path", "status", "resource", "ms"], recent)
            + "<h2>Recent webhooks</h2>"
            + _table(["#", "type", "resource", "status", "attempts", "reason"], deliveries)
            + "<p>JSON: <a href='/_sandbox/counters'>counters</a> · "
            "<a href='/_sandbox/requests'>requests</a> · "
            "<a href='/_sandbox/webhooks'>webhooks</a> · <a href='/_sandbox/traffic'>demo "
            "traffic</a> · <a href='/_sandbox/routes'>routes</a>"
            " · <a href='/_sandbox/keys'>keys</a></p></body></html>"
        )
        return HTMLResponse(html)

    return page
