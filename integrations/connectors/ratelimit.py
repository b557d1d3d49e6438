"""A small Redis rate limiter shared by every process: at most `rate` requests per `per` seconds
for one key (an Airtable base, say), however many workers on however many machines send them.

Algorithm: a sliding-window log decided by one Lua script against the Redis clock (``TIME``), so
the check and the take are one atomic step and every process agrees on the time. A key is a
sorted set holding one member per granted request, scored with the time the request counts
from; a turn is granted while fewer than `rate` members lie in the last ``per + safety``
seconds, and a refusal answers with the exact wait.

The remote service counts a request when it *arrives*, somewhere between our grant and its
answer. ``done()`` therefore moves the member to the time the answer came back (an upper bound of
the arrival), so the slot stays taken until a full window has passed in the remote's count too;
``safety`` covers the usual gap between a grant and the arrival of the request. ``slot()`` does
both around a block::

    with limiter.slot("airtable:appXXXXXXXXXXXXXX", rate=5, per=1.0, timeout=60):
        response = http.get(...)

Nothing secret goes into a key: callers hash tokens before using them as keys.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings

# KEYS[1]: the window (sorted set). ARGV: op ("acquire" | "done"), rate, window_ms, member.
# Times are formatted with %.3f: Lua's own number-to-string keeps only 14 significant digits,
# too few for epoch milliseconds with a fraction.
_SCRIPT = """
local key, op = KEYS[1], ARGV[1]
local rate, window, member = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local ttl = math.ceil(window) + 1000
if op == 'done' then
  local score = redis.call('ZSCORE', key, member)
  if (not score) or tonumber(score) < now then
    redis.call('ZADD', key, string.format('%.3f', now), member)
  end
  redis.call('PEXPIRE', key, ttl)
  return {1, '0', string.format('%.3f', now)}
end
redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%.3f', now - window))
local count = redis.call('ZCARD', key)
if count < rate then
  redis.call('ZADD', key, string.format('%.3f', now), member)
  redis.call('PEXPIRE', key, ttl)
  return {1, '0', string.format('%.3f', now)}
end
local frees = redis.call('ZRANGE', key, count - rate, count - rate, 'WITHSCORES')
local wait = tonumber(frees[2]) + window - now
if wait < 1 then wait = 1 end
return {0, string.format('%.3f', wait), string.format('%.3f', now)}
"""


class RateLimitTimeout(TimeoutError):
    """No turn came free within the caller's timeout."""


@dataclass(frozen=True)
class Slot:
    """A granted turn: pass it to ``done()`` once the request has been answered."""

    key: str  # the full Redis key
    member: str
    at: float  # Redis time of the grant, in seconds since the epoch
    waited: float  # seconds spent waiting for it


@lru_cache(maxsize=8)
def _client_for(url: str) -> redis.Redis:
    # One connection pool per URL and process; redis-py clients are thread-safe.
    return redis.Redis.from_url(url)


class RateLimiter:
    """`acquire(key, rate=5, per=1.0, timeout=…)` blocks until a turn is free for `key` across
    every process sharing the Redis; `done(slot)` marks the request answered."""

    def __init__(
        self,
        client: redis.Redis | None = None,
        *,
        url: str | None = None,
        prefix: str | None = None,
        safety: float = 0.05,
    ) -> None:
        if client is None:
            client = _client_for(url or settings.REDIS_URL)
        self._redis = client
        self._script: Any = client.register_script(_SCRIPT)
        if prefix is None:
            prefix = getattr(settings, "CONNECTOR_RATE_KEY_PREFIX", "connectors:rl")
        self.prefix = prefix
        self.safety = safety
        self._jitter = random.Random()  # noqa: S311 — spreads wake-ups, not a secret

    def _window_ms(self, per: float) -> float:
        return (per + self.safety) * 1000

    def _call(
        self, op: str, key: str, rate: int, per: float, member: str
    ) -> tuple[bool, float, float]:
        granted, wait_ms, now_ms = self._script(
            keys=[key], args=[op, rate, f"{self._window_ms(per):.3f}", member]
        )
        return bool(int(granted)), float(wait_ms) / 1000, float(now_ms) / 1000

    def try_acquire(self, key: str, rate: int = 5, per: float = 1.0) -> Slot | float:
        """One attempt: the slot, or the seconds to wait before the next attempt."""
        full_key, member = f"{self.prefix}:{key}", uuid.uuid4().hex
        granted, wait, now = self._call("acquire", full_key, rate, per, member)
        return Slot(full_key, member, now, 0.0) if granted else wait

    def acquire(
        self, key: str, rate: int = 5, per: float = 1.0, timeout: float | None = 60.0
    ) -> Slot:
        """Wait (sleeping, not spinning) until a turn is free; `RateLimitTimeout` after
        `timeout` seconds (None waits for as long as it takes)."""
        if rate < 1 or per <= 0:
            raise ValueError("rate must be at least 1 and per positive")
        started = time.monotonic()
        while True:
            result = self.try_acquire(key, rate, per)
            if isinstance(result, Slot):
                waited = time.monotonic() - started
                return Slot(result.key, result.member, result.at, waited)
            # A little jitter so that waiters released by the same expiry do not all hit Redis
            # in the same millisecond.
            wait = result + self._jitter.uniform(0, 0.01)
            if timeout is not None and time.monotonic() - started + wait > timeout:
                raise RateLimitTimeout(f"No turn for {key!r} within {timeout:g} s.")
            time.sleep(wait)

    def done(self, slot: Slot, per: float = 1.0) -> None:
        """The request holding `slot` was answered now: keep the slot taken for a window from
        now, since the remote service may have counted it as late as this."""
        self._call("done", slot.key, 0, per, slot.member)

    @contextmanager
    def slot(
        self, key: str, rate: int = 5, per: float = 1.0, timeout: float | None = 60.0
    ) -> Iterator[Slot]:
        taken = self.acquire(key, rate, per, timeout)
        try:
            yield taken
        finally:
            self.done(taken, per)

    def reset(self, key: str) -> None:
        """Forget every turn taken for `key` (tests, or an operator clearing a stuck key)."""
        self._redis.delete(f"{self.prefix}:{key}")


_default: RateLimiter | None = None
_default_lock = threading.Lock()


def get_limiter() -> RateLimiter:
    """The process's limiter on settings.REDIS_URL (rebuilt when the key prefix setting or
    the URL changes, as tests do)."""
    global _default
    prefix = getattr(settings, "CONNECTOR_RATE_KEY_PREFIX", "connectors:rl")
    with _default_lock:
        current = _default
        if (
            current is None
            or current.prefix != prefix
            or current._redis is not _client_for(settings.REDIS_URL)
        ):
            current = _default = RateLimiter(prefix=prefix)
        return current
