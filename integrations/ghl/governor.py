"""The GHL rate governor: one strict limiter per (marketplace app, location or company), shared by
every worker process on every machine through Redis, so GHL never has to answer 429.

Algorithm: a sliding window *log* (one sorted-set member per request, scored with Redis ``TIME``)
plus a daily counter, decided atomically by one Lua script (``governor_lua.py``). A turn is granted
only while fewer than ``limit`` members lie in the last ``window + safety`` ms; a refusal carries
the exact wait. GHL counts a request when it arrives, between our grant and its answer; ``observe``
moves the member to ``answer - safety`` when that is later, so it stays in our window until the
arrival's has passed in GHL's: strict whenever each request reaches GHL within ``safety`` of its
grant or is answered within a window. A log rather than GCRA: GCRA is as strict only with zero
burst tolerance, and then paces one request every ``window / limit`` ms even on idle resources.

Priorities: INTERACTIVE and WEBHOOK may fill the window; BULK only while it holds fewer than
``limit - interactive_reserve`` turns, so the reserve stays free for people and webhooks. BULK
pauses once the day's remaining budget is down to ``daily_bulk_reserve`` of the daily limit, the
others at zero; then ``acquire`` answers with the wait until the next UTC day (Redis time) and
``wait_turn`` raises ``DailyBudgetExhausted`` so a task reschedules instead of holding a worker.

Waiting: a refused caller queues behind its process's other waiters for the same resource and
class, and only the head polls Redis, at the moment it was told: a freed slot wakes one caller
per process, not every thread or coroutine.

``observe`` also reads GHL's five headers: fewer remaining than we count adds phantom members (a
restart, another instance, GHL's own counting); a lower max, a longer interval or a lower daily
limit are adopted for the resource; a 429 blocks it for a window. Headers never loosen the config.

Async: ``redis.asyncio``, one client per event loop (connections belong to the loop that opened
them), so waiting coroutines cost no threads; without a client factory, ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import lru_cache
from typing import Any

import redis
import redis.asyncio
from django.conf import settings
from redis.exceptions import NoScriptError

from saas_platform.kernel.logging import get_logger

from .governor_lua import (
    SCRIPT,
    SHA,
    DailyBudgetExhausted,
    GovernorError,
    GovernorStats,
    GovernorTimeout,
    Grant,
    Observation,
    Priority,
    decode_grant,
    decode_stats,
    fields,
    observe_arg,
)

__all__ = ["DailyBudgetExhausted", "GovernorError", "GovernorStats", "GovernorTimeout", "Grant"]
__all__ += ["Observation", "Priority", "RateGovernor", "get_governor"]

log = get_logger(__name__)

# The last grant taken in this thread or task, so that ``observe`` after the request knows
# which grant the answer belongs to without the caller passing it along.
_LAST_GRANT: contextvars.ContextVar[tuple[int, Grant] | None] = contextvars.ContextVar(
    "ghl_governor_last_grant", default=None
)

AsyncClientFactory = Callable[[], "redis.asyncio.Redis"]
_Loop = asyncio.AbstractEventLoop
_Key = tuple[str, bool]
_AsyncGates = weakref.WeakValueDictionary[_Key, asyncio.Lock]


_GOVERNORS: weakref.WeakSet[RateGovernor] = weakref.WeakSet()


def _after_fork() -> None:
    # A lock held by another thread at fork time would stay locked forever in the child.
    for governor in list(_GOVERNORS):
        governor._gates_lock, governor._gates = threading.Lock(), weakref.WeakValueDictionary()


os.register_at_fork(after_in_child=_after_fork)


def _left(started: float, timeout: float | None) -> float | None:
    return None if timeout is None else timeout - (time.monotonic() - started)


class RateGovernor:
    def __init__(
        self,
        client: redis.Redis,
        *,
        app_id: str,
        limit: int = 100,
        window_ms: int = 10_000,
        daily_limit: int = 200_000,
        safety_ms: int = 100,
        interactive_reserve: int = 10,
        daily_bulk_reserve: float = 0.1,
        async_client_factory: AsyncClientFactory | None = None,
        prefix: str = "ghl:rl",
    ) -> None:
        if limit < 1 or window_ms <= 0 or daily_limit < 1 or safety_ms < 0:
            raise ValueError("limit, window_ms and daily_limit must be positive, safety_ms >= 0")
        if not 0 <= interactive_reserve < limit or not 0 <= daily_bulk_reserve < 1:
            raise ValueError("need 0 <= interactive_reserve < limit, 0 <= daily_bulk_reserve < 1")
        self.client, self.app_id, self.prefix = client, app_id, prefix
        self.limit, self.window_ms, self.daily_limit = limit, window_ms, daily_limit
        self.safety_ms = safety_ms
        self.interactive_reserve, self.daily_bulk_reserve = interactive_reserve, daily_bulk_reserve
        self._async_factory = async_client_factory
        self._async_clients: weakref.WeakKeyDictionary[_Loop, redis.asyncio.Redis] = (
            weakref.WeakKeyDictionary()
        )
        # Waiters queue per (resource, is_bulk); a gate lives while someone holds or awaits it.
        self._gates_lock = threading.Lock()
        self._gates: weakref.WeakValueDictionary[_Key, threading.Semaphore]
        self._gates = weakref.WeakValueDictionary()
        self._async_gates: weakref.WeakKeyDictionary[_Loop, _AsyncGates]
        self._async_gates = weakref.WeakKeyDictionary()
        self._observing: set[asyncio.Task[None]] = set()
        _GOVERNORS.add(self)

    # --- Redis -----------------------------------------------------------------------------------

    def keys(self, resource: str) -> tuple[str, str]:
        window = f"{self.prefix}:{self.app_id}:{resource}"
        return window, f"{window}:meta"

    def _args(self, op: str, now_ms: float | None, extra: str = "") -> list[str]:
        config = (self.limit, self.window_ms, self.safety_ms, self.daily_limit)
        packed = (
            "|".join(map(str, config)) + f"|{self.interactive_reserve}|{self.daily_bulk_reserve!r}"
        )
        return [op, "" if now_ms is None else f"{now_ms:.3f}", packed, extra]

    def _eval(self, resource: str, args: list[str]) -> Any:
        keys = self.keys(resource)
        try:
            return self.client.evalsha(SHA, 2, *keys, *args)
        except NoScriptError:
            # A restarted or flushed Redis forgot the script; EVAL runs and caches it again.
            return self.client.eval(SCRIPT, 2, *keys, *args)

    async def _eval_async(self, resource: str, args: list[str]) -> Any:
        if self._async_factory is None:
            return await asyncio.to_thread(self._eval, resource, args)
        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            client = self._async_clients[loop] = self._async_factory()
        keys = self.keys(resource)
        try:
            return await client.evalsha(SHA, 2, *keys, *args)
        except NoScriptError:
            return await client.eval(SCRIPT, 2, *keys, *args)

    async def aclose(self) -> None:
        """Finish this loop's pending observations and close its Redis client (before the loop
        ends)."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(t for t in self._observing if t.get_loop() is loop))
        client = self._async_clients.pop(loop, None)
        if client is not None:
            await client.aclose()

    # --- turns -----------------------------------------------------------------------------------

    def _remember(self, grant: Grant) -> Grant:
        if grant.granted:
            _LAST_GRANT.set((id(self), grant))
        return grant

    def _acquire_args(
        self, priority: Priority, now_ms: float | None, observed: Observation | None = None
    ) -> list[str]:
        bulk = "1" if priority is Priority.BULK else "0"
        if observed is None:
            return self._args("acquire", now_ms, bulk)
        return [*self._args("observe_acquire", now_ms, observed.arg), bulk]

    def acquire(
        self,
        resource: str,
        priority: Priority = Priority.INTERACTIVE,
        *,
        now_ms: float | None = None,
        observed: Observation | None = None,
    ) -> Grant:
        """Take a turn now if the limits allow it, else say exactly how long to wait.
        ``observed``: an answer not yet reported, reported first in the same round trip.

        ``now_ms`` replaces Redis time (simulations and tests only)."""
        if observed is not None and observed.resource != resource:
            self.report(observed)
            observed = None
        reply = self._eval(resource, self._acquire_args(priority, now_ms, observed))
        if observed is not None:
            self._observed(resource, observed.status, reply)
        return self._remember(decode_grant(resource, priority, reply))

    async def acquire_async(
        self,
        resource: str,
        priority: Priority = Priority.INTERACTIVE,
        *,
        now_ms: float | None = None,
    ) -> Grant:
        reply = await self._eval_async(resource, self._acquire_args(priority, now_ms))
        return self._remember(decode_grant(resource, priority, reply))

    @staticmethod
    def _sleep_for(grant: Grant, started: float, timeout: float | None) -> float:
        if grant.reason == "daily":
            raise DailyBudgetExhausted(grant.resource, grant.priority, grant.wait_s)
        if timeout is not None and time.monotonic() - started + grant.wait_s > timeout:
            raise GovernorTimeout(grant.resource, grant.wait_s, timeout)
        return grant.wait_s

    def wait_turn(
        self,
        resource: str,
        priority: Priority = Priority.INTERACTIVE,
        timeout: float | None = None,
        *,
        observed: Observation | None = None,
    ) -> Grant:
        """Block until granted. Raises ``DailyBudgetExhausted``, or ``GovernorTimeout`` as soon as
        the next turn is known to lie beyond ``timeout`` seconds (no pointless sleeping first).
        ``observed`` is reported with the first attempt (see ``acquire``)."""
        started = time.monotonic()
        grant = self.acquire(resource, priority, observed=observed)
        if grant.granted:
            return grant
        self._sleep_for(grant, started, timeout)
        with self._gates_lock:
            key = (resource, priority is Priority.BULK)
            gate = self._gates.get(key) or self._gates.setdefault(key, threading.Semaphore())
        left = _left(started, timeout)
        if not gate.acquire(timeout=None if left is None else max(0.0, left)):
            raise GovernorTimeout(resource, grant.wait_s, timeout or 0.0)
        try:
            while not (grant := self.acquire(resource, priority)).granted:
                time.sleep(self._sleep_for(grant, started, timeout))
        finally:
            gate.release()
        return replace(grant, waited_s=time.monotonic() - started)

    async def wait_turn_async(
        self, resource: str, priority: Priority = Priority.INTERACTIVE, timeout: float | None = None
    ) -> Grant:
        """``wait_turn`` for the event loop: sleeps with ``asyncio.sleep``."""
        started = time.monotonic()
        grant = await self.acquire_async(resource, priority)
        if grant.granted:
            return grant
        self._sleep_for(grant, started, timeout)
        gates = self._async_gates.setdefault(
            asyncio.get_running_loop(), weakref.WeakValueDictionary()
        )
        key = (resource, priority is Priority.BULK)
        gate = gates.get(key) or gates.setdefault(key, asyncio.Lock())
        try:
            async with asyncio.timeout(_left(started, timeout)):
                await gate.acquire()
        except TimeoutError as exc:
            raise GovernorTimeout(resource, grant.wait_s, timeout or 0.0) from exc
        try:
            while not (grant := await self.acquire_async(resource, priority)).granted:
                await asyncio.sleep(self._sleep_for(grant, started, timeout))
        finally:
            gate.release()
        return replace(grant, waited_s=time.monotonic() - started)

    # --- feedback from GHL -----------------------------------------------------------------------

    def _observe_args(
        self,
        resource: str,
        headers: Mapping[str, str],
        status: int,
        grant: Grant | None,
        now_ms: float | None,
    ) -> list[str]:
        last = _LAST_GRANT.get()
        if grant is None and last and last[0] == id(self) and last[1].resource == resource:
            grant = last[1]
            _LAST_GRANT.set(None)  # one answer per grant
        return self._args("observe", now_ms, observe_arg(headers, status, grant))

    def _observed(self, resource: str, status: int, reply: Any) -> None:
        # The observe fields end the reply (an ``observe_acquire`` reply starts with the grant).
        phantoms, blocked_ms, window_used, daily_remaining = fields(reply)[-4:]
        if phantoms != "0" or status == 429:
            log.warning(
                "ghl.ratelimit.corrected",
                resource=resource,
                app_id=self.app_id,
                status=status,
                phantoms=int(phantoms),
                blocked_ms=round(float(blocked_ms)),
                window_used=int(window_used),
                daily_remaining=int(daily_remaining),
            )

    def observe(
        self,
        resource: str,
        headers: Mapping[str, str],
        *,
        status: int,
        grant: Grant | None = None,
        now_ms: float | None = None,
    ) -> None:
        """Correct the shared view from GHL's answer to a granted request (call after every one).

        ``grant`` defaults to the last one taken in this thread or task for ``resource``. Called
        from a coroutine, the Redis call runs as a task on the loop instead of blocking it."""
        args = self._observe_args(resource, headers, status, grant, now_ms)
        try:
            loop: _Loop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or self._async_factory is None:
            self._observed(resource, status, self._eval(resource, args))
            return
        task = loop.create_task(self._observe_task(resource, status, args))
        self._observing.add(task)
        task.add_done_callback(self._observing.discard)

    def observation(
        self, resource: str, headers: Mapping[str, str], *, status: int, grant: Grant | None = None
    ) -> Observation:
        """``observe``'s argument packed now, bound to the answer's grant (by default the last one
        taken in this thread), to report later: ``report``, or ``wait_turn(observed=…)``."""
        arg = self._observe_args(resource, headers, status, grant, None)[-1]
        return Observation(resource, status, arg)

    def report(self, observed: Observation) -> None:
        """Report a packed answer on its own (no next turn to carry it)."""
        args = self._args("observe", None, observed.arg)
        self._observed(observed.resource, observed.status, self._eval(observed.resource, args))

    async def _observe_task(self, resource: str, status: int, args: list[str]) -> None:
        try:
            self._observed(resource, status, await self._eval_async(resource, args))
        except redis.RedisError as exc:
            log.warning("ghl.ratelimit.observe_failed", resource=resource, error=str(exc))

    async def observe_async(
        self,
        resource: str,
        headers: Mapping[str, str],
        *,
        status: int,
        grant: Grant | None = None,
        now_ms: float | None = None,
    ) -> None:
        args = self._observe_args(resource, headers, status, grant, now_ms)
        self._observed(resource, status, await self._eval_async(resource, args))

    # --- metrics ---------------------------------------------------------------------------------

    def stats(self, resource: str, *, now_ms: float | None = None) -> GovernorStats:
        return decode_stats(resource, self._eval(resource, self._args("stats", now_ms)))

    def forget(self, resource: str) -> None:
        """Drop everything known about a resource (tests; an operator's reset after an outage)."""
        self.client.delete(*self.keys(resource))


def get_governor(app_id: str | None = None) -> RateGovernor:
    """The process's governor for our marketplace app, configured from settings."""
    if app_id is None:
        app_id = str(getattr(settings, "GHL_CLIENT_ID", "") or "").split("-", 1)[0] or "default"
    return _governor(
        str(settings.REDIS_URL),
        str(getattr(settings, "GHL_RATE_KEY_PREFIX", "ghl:rl")),
        app_id,
        int(getattr(settings, "GHL_RATE_BURST_LIMIT", 100)),
        int(getattr(settings, "GHL_RATE_WINDOW_MS", 10_000)),
        int(getattr(settings, "GHL_RATE_DAILY_LIMIT", 200_000)),
        int(getattr(settings, "GHL_RATE_SAFETY_MS", 100)),
        int(getattr(settings, "GHL_RATE_INTERACTIVE_RESERVE", 10)),
        float(getattr(settings, "GHL_DAILY_BULK_RESERVE", 0.1)),
    )


@lru_cache(maxsize=8)
def _governor(
    url: str,
    prefix: str,
    app_id: str,
    limit: int,
    window_ms: int,
    daily_limit: int,
    safety_ms: int,
    reserve: int,
    bulk_reserve: float,
) -> RateGovernor:
    # Bounded socket timeouts: a stalled Redis must fail a call, not hang every worker.
    options: dict[str, Any] = {"socket_timeout": 5, "socket_connect_timeout": 5}
    return RateGovernor(
        redis.Redis.from_url(url, **options),
        app_id=app_id,
        limit=limit,
        window_ms=window_ms,
        daily_limit=daily_limit,
        safety_ms=safety_ms,
        interactive_reserve=reserve,
        daily_bulk_reserve=bulk_reserve,
        prefix=prefix,
        # A blocking pool: a burst of coroutines waits for a connection instead of failing.
        async_client_factory=lambda: redis.asyncio.Redis.from_pool(
            redis.asyncio.BlockingConnectionPool.from_url(url, max_connections=64, **options)
        ),
    )
