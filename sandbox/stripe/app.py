"""ASGI assembly: the ``/v1`` API (auth, Stripe-Account, idempotency, errors), hosted pages,
and the ``/_sandbox`` control API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.stripe import billing, forms
from sandbox.stripe.api import connect, core, invoices, sessions, subscriptions
from sandbox.stripe.api.common import Call, Handler
from sandbox.stripe.control import control_routes
from sandbox.stripe.errors import StripeError
from sandbox.stripe.pages.checkout import checkout_pages
from sandbox.stripe.pages.onboarding import invoice_pages, onboarding_pages
from sandbox.stripe.pages.portal import portal_pages
from sandbox.stripe.state import API_VERSION, StripeState
from sandbox.stripe.store import PLATFORM, new_id, public

IDEMPOTENCY_TTL = 24 * 3600


def _compile(routes: list[tuple[str, str, Handler]]) -> list[tuple[str, re.Pattern[str], Handler]]:
    return [
        (method, re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$"), handler)
        for method, path, handler in routes
    ]


ROUTES = _compile(
    core.ROUTES + connect.ROUTES + subscriptions.ROUTES + sessions.ROUTES + invoices.ROUTES
)


class Api:
    def __init__(self, state: StripeState) -> None:
        self.state = state

    async def handle(self, request: Request) -> Response:
        request_id = new_id("req", 14)
        try:
            billing.tick(self.state)
            status, body, replayed = await self._handle(request)
        except StripeError as exc:
            status, body, replayed = exc.status, exc.to_dict(), False
            body["error"]["request_log_url"] = f"{self.state.config.public_url}/_sandbox/"
        headers = {"Request-Id": request_id, "Stripe-Version": API_VERSION}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        key = request.headers.get("idempotency-key")
        if key:
            headers["Idempotency-Key"] = key
        return JSONResponse(body, status, headers=headers)

    def _auth(self, request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if not header or scheme.lower() != "bearer" or not key:
            raise StripeError(
                401,
                "invalid_request_error",
                "You did not provide an API key. You need to provide your API key "
                "in the Authorization header, using Bearer auth (e.g. "
                "'Authorization: Bearer YOUR_SECRET_KEY').",
            )
        if key not in self.state.config.api_keys:
            raise StripeError(
                401,
                "invalid_request_error",
                f"Invalid API Key provided: {key[:8]}{'*' * 8}{key[-4:]}",
                code="api_key_invalid",
            )
        return key

    def _account(self, request: Request, key: str) -> str:
        account = request.headers.get("stripe-account", "").strip()
        if not account:
            return PLATFORM
        if self.state.store.find(PLATFORM, account, "account") is None:
            raise StripeError(
                403,
                "invalid_request_error",
                f"The provided key '{key[:8]}{'*' * 8}{key[-4:]}' does not have "
                f"access to account '{account}' (or that account does not exist). "
                "Application access may have been revoked.",
                code="account_invalid",
            )
        return account

    async def _handle(self, request: Request) -> tuple[int, dict[str, Any], bool]:
        key = self._auth(request)
        account = self._account(request, key)
        method, path = request.method, request.url.path
        match = next(
            (
                (handler, found.groupdict())
                for m, pattern, handler in ROUTES
                if m == method and (found := pattern.match(path))
            ),
            None,
        )
        if match is None:
            raise StripeError(
                404,
                "invalid_request_error",
                f"Unrecognized request URL ({method}: {path}). Please see "
                "https://stripe.com/docs or we can help at "
                "https://support.stripe.com/.",
            )
        raw = (await request.body()).decode() if method == "POST" else request.url.query
        params = forms.decode(raw)
        if method == "POST" and request.url.query:
            params = {**forms.decode(request.url.query), **params}
        idem = request.headers.get("idempotency-key") if method == "POST" else None
        if idem:
            cached = self._replay(key, account, idem, method, path, params)
            if cached is not None:
                return cached["status"], cached["body"], True
        handler, path_params = match
        call = Call(self.state, account, params, path)
        try:
            result = handler(call, **path_params)
            status, body = 200, self._render(account, result, params)
        except StripeError as exc:
            if exc.status != 402 or not idem:
                raise
            status, body = exc.status, exc.to_dict()
        if idem:
            self.state.idempotency[(key, account, idem)] = {
                "fingerprint": (method, path, json.dumps(params, sort_keys=True)),
                "status": status,
                "body": body,
                "at": self.state.now(),
            }
        return status, body, False

    def _replay(
        self, key: str, account: str, idem: str, method: str, path: str, params: dict[str, Any]
    ) -> dict[str, Any] | None:
        cached = self.state.idempotency.get((key, account, idem))
        if cached is None or self.state.now() - cached["at"] > IDEMPOTENCY_TTL:
            return None
        if cached["fingerprint"] != (method, path, json.dumps(params, sort_keys=True)):
            raise StripeError(
                400,
                "idempotency_error",
                "Keys for idempotent requests can only be used with the same "
                "parameters they were first used with. Try using a key other than "
                f"'{idem}' if you meant to execute a different request.",
            )
        return cached

    def _render(self, account: str, result: dict[str, Any], params: dict[str, Any]) -> Any:
        expand = params.get("expand") or []
        if not isinstance(expand, list):
            expand = [expand]
        if "_seq" in result:
            return self.state.store.render(account, result, [str(p) for p in expand])
        return public(result)


def build_app(state: StripeState) -> Starlette:
    api = Api(state)
    routes = [
        Route("/v1/{rest:path}", api.handle, methods=["GET", "POST", "DELETE"]),
        *checkout_pages(state),
        *portal_pages(state),
        *onboarding_pages(state),
        *invoice_pages(state),
        *control_routes(state),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await state.dispatcher.start()
        ticker = asyncio.create_task(_tick_forever(state))
        try:
            yield
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            await state.dispatcher.stop()

    return Starlette(routes=routes, lifespan=lifespan)


async def _tick_forever(state: StripeState) -> None:
    # With a compressed clock, renewals and retries fall due while nobody calls the API.
    while True:
        await asyncio.sleep(1)
        billing.tick(state)
