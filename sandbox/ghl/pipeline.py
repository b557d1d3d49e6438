"""The request pipeline every GHL API route goes through, and the route table type.

Order of checks: route match -> ``Version`` header -> bearer token -> token type and scope ->
rate limit -> injected faults -> body parsing and spec validation -> handler (which checks the
token's location against the resource it touches). Errors render as GHL's envelope; every
authenticated response carries the five rate-limit headers.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from sandbox.ghl import errors
from sandbox.ghl.errors import ApiError
from sandbox.ghl.oauth.tokens import AccessToken
from sandbox.ghl.spec import nest_messages

if TYPE_CHECKING:
    from sandbox.ghl.state import SandboxState
    from sandbox.ghl.store.world import Location

LOCATION_SCHEMES = frozenset({"bearer", "Location-Access", "Location-Access-Only"})
AGENCY_SCHEMES = frozenset({"Agency-Access", "Agency-Access-Only"})
TRANSPORT_KEY = "sandbox.transport"


@dataclass(frozen=True, slots=True)
class Security:
    scheme: str
    scopes: tuple[str, ...]

    def accepts(self, user_type: str) -> bool:
        if self.scheme in LOCATION_SCHEMES:
            return user_type == "Location"
        return user_type == "Company"


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: Any


Handler = Callable[["Ctx"], Awaitable[Any]]


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str
    spec: str
    operation_id: str
    version: str | None
    security: tuple[Security, ...]
    status: int
    handler: Handler
    body: str | None = None  # "json", "form" (form or JSON), or None
    # Set when the spec lists no scope for an operation and the stand-in still requires the
    # scope of its sibling operations; the fidelity checker allows only this deviation.
    scope_fallback: bool = False

    @property
    def public(self) -> bool:
        return not self.security


class Ctx:
    """What a handler sees: state, the authenticated token, path params, query, parsed body."""

    __slots__ = ("body", "params", "request", "route", "state", "token")

    def __init__(
        self,
        state: SandboxState,
        request: Request,
        route: ApiRoute,
        token: AccessToken | None,
        params: dict[str, str],
        body: Any,
    ) -> None:
        self.state = state
        self.request = request
        self.route = route
        self.token = token
        self.params = params
        self.body = body

    @property
    def auth(self) -> AccessToken:
        if self.token is None:
            raise RuntimeError(f"{self.route.path} has no security, so no token")
        return self.token

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name)

    def require_query(self, name: str) -> str:
        value = self.request.query_params.get(name)
        if not value:
            raise errors.unprocessable(f"{name} should not be empty")
        return value

    def int_query(
        self, name: str, default: int, minimum: int = 0, maximum: int | None = None
    ) -> int:
        raw = self.request.query_params.get(name)
        if not raw:
            return default
        try:
            value = int(float(raw))
        except ValueError as exc:
            raise errors.unprocessable(f"{name} must be a number") from exc
        if value < minimum:
            raise errors.unprocessable(f"{name} must not be less than {minimum}")
        if maximum is not None and value > maximum:
            raise errors.unprocessable(f"{name} must not be greater than {maximum}")
        return value

    def location(self, location_id: Any, field: str = "locationId") -> Location:
        """The location, if the token may act on it (403 otherwise)."""
        if not isinstance(location_id, str) or not location_id:
            raise errors.unprocessable(f"{field} should not be empty")
        token = self.auth
        world = self.state.world
        if token.location_id is not None:
            if location_id != token.location_id:
                raise errors.forbidden()
        else:
            candidate = world.locations.get(location_id)
            if candidate is None or candidate.company_id != token.company_id:
                raise errors.forbidden()
        location = world.locations.get(location_id)
        if location is None:
            raise errors.not_found("Location not found")
        return location

    def owned(self, kind: str, resource_id: str, label: str) -> Location:
        """The location owning a resource id; 404 if unknown, 403 if another location's."""
        entry = self.state.world.owner.get(resource_id)
        if entry is None or entry[0] != kind:
            raise errors.not_found(f"{label} not found")
        return self.location(entry[1])


def _json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class _Dropped(Exception):
    """The connection was dropped on purpose: send nothing."""


class ApiRouter:
    """Matches GHL paths: exact paths first, then templates; tolerant of one trailing slash."""

    def __init__(self, state: SandboxState, routes: list[ApiRoute]) -> None:
        self.state = state
        self.routes = routes
        self._static: dict[tuple[str, str], ApiRoute] = {}
        self._dynamic: list[tuple[str, re.Pattern[str], ApiRoute]] = []
        for route in routes:
            if "{" not in route.path:
                self._static[(route.method, route.path.rstrip("/") or "/")] = route
            else:
                pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", route.path.rstrip("/"))
                self._dynamic.append((route.method, re.compile(f"^{pattern}/?$"), route))

    def match(self, method: str, path: str) -> tuple[ApiRoute, dict[str, str]] | None:
        route = self._static.get((method, path.rstrip("/") or "/"))
        if route is not None:
            return route, {}
        for route_method, pattern, candidate in self._dynamic:
            if route_method == method:
                found = pattern.match(path)
                if found:
                    return candidate, found.groupdict()
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        matched = self.match(method, path)
        if matched is None:
            body = {"statusCode": 404, "message": f"Cannot {method} {path}", "error": "Not Found"}
            await _send(send, 404, _json_bytes(body), [])
            return
        route, params = matched
        try:
            status, payload, headers = await self._dispatch(scope, receive, route, params)
        except _Dropped:
            return
        await _send(send, status, _json_bytes(payload), headers)

    async def _dispatch(
        self, scope: Scope, receive: Receive, route: ApiRoute, params: dict[str, str]
    ) -> tuple[int, Any, list[tuple[bytes, bytes]]]:
        state = self.state
        started = time.perf_counter()
        request = Request(scope, receive)
        token: AccessToken | None = None
        headers: list[tuple[bytes, bytes]] = []
        try:
            if route.version is not None:
                version = request.headers.get("version")
                if version is None:
                    raise ApiError(400, "Version header is required")
                if version != route.version:
                    raise ApiError(400, f"Version header is invalid; expected {route.version}")
            if not route.public:
                token = self._authenticate(request)
                self._authorize(route, token)
                allowed, headers = state.limiter.check((token.client_id, token.resource_id))
                if not allowed:
                    state.metrics.count(token.resource_id, "rate_limited")
                    raise ApiError(429, "Too Many Requests")
                state.metrics.count(token.resource_id, "requests")
                await self._faults(scope, route, token)
                if token.location_id is not None:
                    location = state.world.locations.get(token.location_id)
                    if location is not None and not location.active:
                        raise ApiError(401, errors.LOCATION_NOT_ACTIVE)
            body = await self._body(request, route) if route.body else None
            result = await route.handler(Ctx(state, request, route, token, params, body))
            status, payload = (
                (result.status, result.body)
                if isinstance(result, Reply)
                else (route.status, result)
            )
        except ApiError as exc:
            status, payload = exc.status, exc.body()
        resource = token.resource_id if token else None
        state.metrics.record(
            route.method,
            scope["path"],
            status,
            resource,
            token.client_id if token else None,
            (time.perf_counter() - started) * 1000,
            state.clock.wall_ms(),
        )
        return status, payload, headers

    def _authenticate(self, request: Request) -> AccessToken:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        token = self.state.tokens.lookup(value.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            self.state.metrics.count(None, "invalid_tokens")
            raise errors.unauthorized()
        return token

    @staticmethod
    def _authorize(route: ApiRoute, token: AccessToken) -> None:
        fitting = [s for s in route.security if s.accepts(token.user_type)]
        if not fitting:
            raise ApiError(401, errors.AUTH_CLASS_NOT_ALLOWED)
        if not any(set(s.scopes) <= token.scopes for s in fitting):
            raise ApiError(401, errors.SCOPE_NOT_AUTHORIZED)

    async def _faults(self, scope: Scope, route: ApiRoute, token: AccessToken) -> None:
        decision = self.state.faults.decide(
            route.path, token.location_id, token.company_id, method=route.method
        )
        if decision is None:
            return
        if decision.delay_s > 0:
            await asyncio.sleep(decision.delay_s)
        if decision.action is None:
            return
        self.state.metrics.count(token.resource_id, "faults_injected")
        if decision.action == "error":
            message = (
                "Internal server error"
                if decision.status == 500
                else errors.REASONS.get(decision.status, "Server Error")
            )
            raise ApiError(decision.status, message, include_error=False)
        transport = scope.get("extensions", {}).get(TRANSPORT_KEY, {}).get("transport")
        if decision.action == "timeout":
            await asyncio.sleep(decision.hold_s)
        if transport is None:
            raise ApiError(502, "Bad Gateway", include_error=False)
        if decision.action == "reset":
            sock = transport.get_extra_info("socket")
            if sock is not None:
                # Linger 0 turns the close into a TCP RST: the client sees "connection reset".
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            transport.close()
        # Let the protocol notice the disconnect so uvicorn does not try to answer.
        for _ in range(3):
            await asyncio.sleep(0)
        raise _Dropped

    async def _body(self, request: Request, route: ApiRoute) -> Any:
        raw = await request.body()
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if route.body == "form" and content_type == "application/x-www-form-urlencoded":
            return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        if raw.strip() and content_type != "application/json":
            expected = (
                "application/x-www-form-urlencoded"
                if route.body == "form"
                else ("application/json")
            )
            raise ApiError(
                400, f"Unsupported Content-Type {content_type or '(none)'}; expected {expected}"
            )
        try:
            body = json.loads(raw) if raw.strip() else {}
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            position = getattr(exc, "pos", 0)
            raise ApiError(400, f"Unexpected token in JSON at position {position}") from exc
        spec = self.state.spec
        if spec is not None and route.body == "json":
            validator = spec.request_validator(
                route.spec,
                route.method,
                route.path,
                "application/json",
                strict=self.state.config.reject_unknown_fields,
            )
            if validator is not None:
                problems = nest_messages(list(validator.iter_errors(body)))
                if problems:
                    raise ApiError(422, problems)
        return body


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    raw_headers = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})
