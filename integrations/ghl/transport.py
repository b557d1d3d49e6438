"""One implementation of a GHL call, driven by a sync and an async face.

``execute`` is a generator that holds every decision of a call — wait for the rate governor,
refresh once on a 401, wait as the rate headers say on a 429, back off with full jitter on 5xx and
timeouts (bounded, and only where repeating is safe), map failures to the error taxonomy — and
*yields* what it needs done (a token, a turn, a send, a sleep, a record) instead of doing I/O.
``SyncDriver`` and ``AsyncDriver`` perform those effects with httpx.Client / httpx.AsyncClient,
so both faces behave identically by construction.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from .errors import (
    GhlAuthError,
    GhlError,
    GhlInvalidGrant,
    GhlLocationInactive,
    GhlNotFound,
    GhlRateLimited,
    GhlServerError,
    GhlTimeout,
    GhlValidationError,
)
from .governor import DailyBudgetExhausted, Observation, Priority

SAFE_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    version: str | None
    params: Mapping[str, Any] | None = None
    json: Any = None
    form: Mapping[str, str] | None = None
    # None: decided by the method. POST searches and upserts are safe to repeat; creates are not.
    idempotent: bool | None = None
    authenticated: bool = True

    @property
    def safe_to_repeat(self) -> bool:
        return self.idempotent if self.idempotent is not None else self.method in SAFE_METHODS


@dataclass(frozen=True)
class RetryPolicy:
    max_transient: int = 3  # 5xx and timeouts
    max_throttled: int = 3  # 429s that survived the governor
    backoff_base: float = 0.5
    backoff_cap: float = 8.0

    def backoff(self, retry: int) -> float:
        """Full jitter: uniform over [0, min(cap, base · 2^retry)]."""
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * 2**retry))  # noqa: S311


# --- effects -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NeedToken:
    force: bool = False
    stale: str | None = None


@dataclass(frozen=True)
class WaitTurn:
    priority: Priority


@dataclass(frozen=True)
class Send:
    request: httpx.Request


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Observe:
    headers: httpx.Headers
    status: int


@dataclass(frozen=True)
class Record:
    call: Call
    attempt: int
    status: int | None
    latency_ms: int
    headers: httpx.Headers | None = None
    error: str = ""


Effect = NeedToken | WaitTurn | Send | Sleep | Observe | Record


# --- the call ------------------------------------------------------------------------------------


def build_request(base_url: str, call: Call, token: str | None) -> httpx.Request:
    headers = {"Accept": "application/json"}
    if call.version:
        headers["Version"] = call.version
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.Request(
        call.method,
        base_url + call.path,
        params={k: v for k, v in (call.params or {}).items() if v is not None},
        json=call.json,
        data=call.form,
        headers=headers,
    )


def _body(response: httpx.Response) -> Any:
    try:
        return response.json() if response.content else None
    except ValueError:
        return response.text[:MAX_ERROR_CHARS]


def _message(body: Any, fallback: str) -> str:
    if isinstance(body, dict):
        message = body.get("message") or body.get("error") or fallback
        return "; ".join(map(str, message)) if isinstance(message, list) else str(message)
    return str(body or fallback)[:MAX_ERROR_CHARS]


def error_for(response: httpx.Response) -> GhlError:
    status, body = response.status_code, _body(response)
    message = _message(body, response.reason_phrase)
    lowered = message.lower()
    if "location is not active" in lowered:
        return GhlLocationInactive(message, status=status, body=body)
    if "invalid grant" in lowered:
        return GhlInvalidGrant(message, status=status, body=body)
    kind: type[GhlError]
    if status in (401, 403):
        kind = GhlAuthError
    elif status == 404:
        kind = GhlNotFound
    elif status in (400, 409, 422):
        kind = GhlValidationError
    elif status == 429:
        kind = GhlRateLimited
    elif status >= 500:
        kind = GhlServerError
    else:
        kind = GhlError
    return kind(message, status=status, body=body)


def throttle_wait(headers: httpx.Headers) -> float:
    """How long a 429 asks us to wait: the burst window (plus jitter); never 'until tomorrow'."""
    if headers.get("Retry-After", "").isdigit():
        return float(headers["Retry-After"])
    interval_ms = headers.get("X-RateLimit-Interval-Milliseconds", "")
    base = int(interval_ms) / 1000 if interval_ms.isdigit() else 10.0
    return base * random.uniform(1.0, 1.1)  # noqa: S311


def execute(
    call: Call, *, base_url: str, priority: Priority, policy: RetryPolicy
) -> Generator[Effect, Any, Any]:
    token: str | None = (yield NeedToken()) if call.authenticated else None
    refreshed = False
    transient = throttled = 0
    attempt = 0
    while True:
        attempt += 1
        if call.authenticated:
            yield WaitTurn(priority)
        started = time.monotonic()
        try:
            response: httpx.Response = yield Send(build_request(base_url, call, token))
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            latency = int((time.monotonic() - started) * 1000)
            yield Record(call, attempt, None, latency, error=f"{type(exc).__name__}: {exc}")
            # A connect failure never reached GHL, so even a create may be tried again.
            repeatable = call.safe_to_repeat or isinstance(exc, httpx.ConnectError)
            if repeatable and transient < policy.max_transient:
                transient += 1
                yield Sleep(policy.backoff(transient))
                continue
            raise GhlTimeout(f"{call.method} {call.path}: {type(exc).__name__}") from exc
        latency = int((time.monotonic() - started) * 1000)
        status = response.status_code
        if call.authenticated:
            yield Observe(response.headers, status)
        error = "" if status < 400 else _message(_body(response), response.reason_phrase)
        yield Record(call, attempt, status, latency, response.headers, error)
        if status < 400:
            body = _body(response)
            if isinstance(body, str):
                raise GhlServerError("GHL answered with something that is not JSON", status=status)
            return body
        if status == 401 and call.authenticated and not refreshed:
            refreshed = True
            token = yield NeedToken(force=True, stale=token)
            continue
        if status == 429:
            if response.headers.get("X-RateLimit-Daily-Remaining") == "0":
                raise GhlRateLimited("The daily GHL budget of this location is spent.", status=429)
            if throttled < policy.max_throttled:
                throttled += 1
                yield Sleep(throttle_wait(response.headers))
                continue
        if status >= 500 and call.safe_to_repeat and transient < policy.max_transient:
            transient += 1
            yield Sleep(policy.backoff(transient))
            continue
        raise error_for(response)


# --- drivers -------------------------------------------------------------------------------------


def _budget_spent(exc: DailyBudgetExhausted) -> GhlRateLimited:
    return GhlRateLimited(
        f"The daily GHL budget of this location is spent (retry in {exc.retry_after_s:.0f} s).",
        status=None,
    )


class TokenSource(Protocol):
    def __call__(self, *, force: bool, stale: str | None) -> str: ...


class Governor(Protocol):
    def wait_turn(
        self, resource: str, priority: Priority, *, observed: Observation | None = None
    ) -> Any: ...

    async def wait_turn_async(self, resource: str, priority: Priority) -> Any: ...

    def observe(self, resource: str, headers: Mapping[str, str], *, status: int) -> None: ...

    def observation(
        self, resource: str, headers: Mapping[str, str], *, status: int
    ) -> Observation: ...

    def report(self, observed: Observation) -> None: ...

    async def observe_async(
        self, resource: str, headers: Mapping[str, str], *, status: int
    ) -> None: ...


@dataclass
class Wiring:
    """What a driver needs besides HTTP: where tokens, turns and records come from."""

    resource: str
    token: TokenSource
    governor: Governor
    record: Callable[[Record], None]
    sleep: Callable[[float], None] = time.sleep
    async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    # A token the caller already holds in memory, handed out without leaving the event loop.
    cached_token: Callable[[], str | None] = lambda: None


class SyncDriver:
    """``defer_observations``: an answer is reported to the governor with the next turn (one
    Redis round trip per call instead of two) or by ``flush``, which the owner must call when
    done; a 429 is reported at once (it blocks the resource for everyone). For one thread's
    sequence of calls only: the deferred answer is the driver's, not the thread's."""

    def __init__(
        self, http: httpx.Client, wiring: Wiring, *, defer_observations: bool = False
    ) -> None:
        self.http, self.w = http, wiring
        self.defer_observations = defer_observations
        self._unreported: Observation | None = None

    def flush(self) -> None:
        """Report the answer still held back (end of a batch; before sleeping)."""
        observed, self._unreported = self._unreported, None
        if observed is not None:
            self.w.governor.report(observed)

    def run(self, steps: Generator[Effect, Any, Any]) -> Any:
        value: Any = None
        failure: BaseException | None = None
        while True:
            try:
                effect = steps.throw(failure) if failure else steps.send(value)
            except StopIteration as done:
                return done.value
            value, failure = None, None
            try:
                value = self._perform(effect)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                failure = exc

    def _perform(self, effect: Effect) -> Any:
        w = self.w
        if isinstance(effect, Send):
            return self.http.send(effect.request)
        if isinstance(effect, NeedToken):
            return w.token(force=effect.force, stale=effect.stale)
        if isinstance(effect, WaitTurn):
            observed, self._unreported = self._unreported, None
            try:
                return w.governor.wait_turn(w.resource, effect.priority, observed=observed)
            except DailyBudgetExhausted as exc:
                raise _budget_spent(exc) from exc
        if isinstance(effect, Sleep):
            self.flush()
            return w.sleep(effect.seconds)
        if isinstance(effect, Observe):
            self.flush()
            if self.defer_observations and effect.status != 429:
                self._unreported = w.governor.observation(
                    w.resource, effect.headers, status=effect.status
                )
                return None
            return w.governor.observe(w.resource, effect.headers, status=effect.status)
        return w.record(effect)


class AsyncDriver:
    def __init__(self, http: httpx.AsyncClient, wiring: Wiring) -> None:
        self.http, self.w = http, wiring

    async def run(self, steps: Generator[Effect, Any, Any]) -> Any:
        value: Any = None
        failure: BaseException | None = None
        while True:
            try:
                effect = steps.throw(failure) if failure else steps.send(value)
            except StopIteration as done:
                return done.value
            value, failure = None, None
            try:
                value = await self._perform(effect)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                failure = exc

    async def _perform(self, effect: Effect) -> Any:
        w = self.w
        if isinstance(effect, Send):
            return await self.http.send(effect.request)
        if isinstance(effect, NeedToken):
            if not effect.force and (held := w.cached_token()):
                return held
            # The vault may take a database row lock: keep it off the event loop.
            return await asyncio.to_thread(w.token, force=effect.force, stale=effect.stale)
        if isinstance(effect, WaitTurn):
            try:
                return await w.governor.wait_turn_async(w.resource, effect.priority)
            except DailyBudgetExhausted as exc:
                raise _budget_spent(exc) from exc
        if isinstance(effect, Sleep):
            return await w.async_sleep(effect.seconds)
        if isinstance(effect, Observe):
            return await w.governor.observe_async(w.resource, effect.headers, status=effect.status)
        return w.record(effect)
