"""The control API under ``/_sandbox`` (no auth; the stand-in listens on loopback).

GET  /_sandbox/health                      {"ok": true, "now": …}
POST /_sandbox/reset                       forget everything, clock back to real time
GET  /_sandbox/clock                       {"now", "offset", "factor"}
POST /_sandbox/clock/advance               {"seconds"|"days": n} then run what fell due
POST /_sandbox/failures                    {"payment_method"|"customer": id,
                                            "decline_code": "card_declined…", "count": n}
DELETE /_sandbox/failures                  clear forced failures
POST /_sandbox/retries/run                 attempt every open invoice's retry now
POST /_sandbox/webhook                     {"url", "secret"}: the default endpoint
GET  /_sandbox/deliveries                  webhook deliveries (?type=&status=)
POST /_sandbox/accounts/{id}/onboard       complete an account's onboarding
GET  /_sandbox/config                      public url, API keys, retry schedule
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.stripe import billing
from sandbox.stripe.api.connect import complete_onboarding
from sandbox.stripe.state import ForcedFailure, StripeState
from sandbox.stripe.store import PLATFORM


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def _bad(message: str) -> Response:
    return JSONResponse({"error": message}, 400)


def control_routes(state: StripeState) -> list[Route]:
    def clock() -> dict[str, Any]:
        return {"now": state.now(), "offset": state.clock.offset, "factor": state.clock.factor}

    async def health(_request: Request) -> Response:
        return JSONResponse({"ok": True, "now": state.now()})

    async def reset(_request: Request) -> Response:
        state.reset()
        return JSONResponse({"ok": True})

    async def get_clock(_request: Request) -> Response:
        return JSONResponse(clock())

    async def advance(request: Request) -> Response:
        body = await _body(request)
        try:
            seconds = float(body.get("seconds", 0)) + float(body.get("days", 0)) * billing.DAY
            state.clock.advance(seconds)
        except (TypeError, ValueError) as exc:
            return _bad(f"advance needs a non-negative 'seconds' or 'days': {exc}")
        billing.tick(state)
        return JSONResponse(clock())

    async def fail(request: Request) -> Response:
        body = await _body(request)
        target = body.get("payment_method") or body.get("customer")
        if not target:
            return _bad("name a 'payment_method' or a 'customer'")
        count = body.get("count")
        if count is not None and (not isinstance(count, int) or count < 1):
            return _bad("'count' must be a positive integer")
        state.failures[str(target)] = ForcedFailure(
            str(body.get("decline_code") or "generic_decline"), count
        )
        return JSONResponse({"ok": True, "failures": sorted(state.failures)})

    async def clear_failures(_request: Request) -> Response:
        state.failures.clear()
        return JSONResponse({"ok": True})

    async def run_retries(_request: Request) -> Response:
        attempted = []
        for account, invoice in list(state.store.every("invoice")):
            if invoice["status"] == "open" and invoice["next_payment_attempt"] is not None:
                invoice["_retries"] += 1
                billing.invoice_pay(state, account, invoice, automatic=True)
                attempted.append({"invoice": invoice["id"], "status": invoice["status"]})
        return JSONResponse({"attempted": attempted})

    async def webhook(request: Request) -> Response:
        body = await _body(request)
        url = body.get("url")
        if url is not None and not str(url).startswith(("http://", "https://")):
            return _bad("'url' must be an http(s) URL or null")
        state.config.webhook_url = url
        if body.get("secret"):
            state.config.webhook_secret = str(body["secret"])
        return JSONResponse({"url": url, "secret": state.config.webhook_secret})

    async def deliveries(request: Request) -> Response:
        kind, status = request.query_params.get("type"), request.query_params.get("status")
        rows = [
            d.to_dict()
            for d in state.dispatcher.deliveries
            if kind in (None, d.event_type) and status in (None, d.status)
        ]
        return JSONResponse({"deliveries": rows})

    async def onboard(request: Request) -> Response:
        account = state.store.find(PLATFORM, request.path_params["account"], "account")
        if account is None:
            return JSONResponse({"error": "no such account"}, 404)
        complete_onboarding(state, account, None)
        return JSONResponse({"ok": True})

    async def config(_request: Request) -> Response:
        c = state.config
        return JSONResponse(
            {
                "public_url": c.public_url,
                "api_keys": c.api_keys,
                "platform_name": c.platform_name,
                "webhook_url": c.webhook_url,
                "retry_schedule_days": list(c.retry_schedule_days),
            }
        )

    return [
        Route("/_sandbox/health", health, methods=["GET"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
        Route("/_sandbox/clock", get_clock, methods=["GET"]),
        Route("/_sandbox/clock/advance", advance, methods=["POST"]),
        Route("/_sandbox/failures", fail, methods=["POST"]),
        Route("/_sandbox/failures", clear_failures, methods=["DELETE"]),
        Route("/_sandbox/retries/run", run_retries, methods=["POST"]),
        Route("/_sandbox/webhook", webhook, methods=["POST"]),
        Route("/_sandbox/deliveries", deliveries, methods=["GET"]),
        Route("/_sandbox/accounts/{account}/onboard", onboard, methods=["POST"]),
        Route("/_sandbox/config", config, methods=["GET"]),
    ]
