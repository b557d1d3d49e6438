"""``/_sandbox/traffic``: read, start, stop or step the demo traffic generator.

``GET`` answers its counters; ``POST /start`` ``{"interval"?, "seed"?}`` starts (or retunes) it,
``POST /stop`` stops it, ``POST /round`` ``{"rounds"?: 1..50}`` runs rounds now (tests, demos).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.ghl.traffic import DemoTraffic

MAX_ROUNDS_PER_CALL = 50


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    data = json.loads(raw) if raw.strip() else {}
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data


def _error(exc: Exception) -> JSONResponse:
    return JSONResponse({"error": str(exc)}, status_code=400)


def traffic_routes(traffic: DemoTraffic) -> list[Route]:
    async def status(_request: Request) -> Response:
        return JSONResponse(traffic.status())

    async def start(request: Request) -> Response:
        try:
            body = await _body(request)
            seed = body.get("seed")
            traffic.start(body.get("interval"), int(seed) if seed is not None else None)
        except (ValueError, TypeError) as exc:
            return _error(exc)
        return JSONResponse(traffic.status())

    async def stop(_request: Request) -> Response:
        traffic.stop()
        return JSONResponse(traffic.status())

    async def step(request: Request) -> Response:
        try:
            rounds = int((await _body(request)).get("rounds", 1))
            if not 1 <= rounds <= MAX_ROUNDS_PER_CALL:
                raise ValueError(f"rounds must be between 1 and {MAX_ROUNDS_PER_CALL}")
        except (ValueError, TypeError) as exc:
            return _error(exc)
        made = [item for _ in range(rounds) for item in traffic.run_round()]
        return JSONResponse({"made": made, **traffic.status()})

    return [
        Route("/_sandbox/traffic", status, methods=["GET"]),
        Route("/_sandbox/traffic/start", start, methods=["POST"]),
        Route("/_sandbox/traffic/stop", stop, methods=["POST"]),
        Route("/_sandbox/traffic/round", step, methods=["POST"]),
    ]
