"""Small helpers shared by the API handlers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from sandbox.ghl.clock import Clock
from sandbox.ghl.pipeline import ApiRoute, Ctx, Handler, Security

V7 = "2021-07-28"
V4 = "2021-04-15"


def loc(*scopes: str) -> Security:
    """The spec's plain ``bearer`` scheme: a Location (sub-account) token."""
    return Security("bearer", scopes)


def route(
    method: str,
    path: str,
    spec: str,
    operation_id: str,
    version: str | None,
    security: Iterable[Security],
    handler: Handler,
    *,
    status: int = 200,
    body: str | None = None,
    scope_fallback: bool = False,
) -> ApiRoute:
    return ApiRoute(
        method=method,
        path=path,
        spec=spec,
        operation_id=operation_id,
        version=version,
        security=tuple(security),
        status=status,
        handler=handler,
        body=body,
        scope_fallback=scope_fallback,
    )


def now_ms() -> int:
    return Clock.wall_ms()


def next_page_url(ctx: Ctx, **overrides: Any) -> str:
    params = dict(ctx.request.query_params)
    params.update({k: str(v) for k, v in overrides.items()})
    base = str(ctx.request.base_url).rstrip("/")
    return f"{base}{ctx.request.url.path}?{urlencode(params)}"


def strip_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}
