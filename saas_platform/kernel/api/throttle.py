"""A per-key rate limit shared by every process through Redis.

Algorithm: a sliding-window log, as one Lua script (atomic on the server): drop entries older
than the window, admit the request if fewer than `limit` remain, and say when the oldest entry
leaves otherwise. Time is Redis's own ``TIME``, so web servers' clocks do not matter. Any 60 s
holds at most `limit` admitted requests, however many processes ask at once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

WINDOW_MS = 60_000

# KEYS[1] the log; ARGV: limit, window ms, a unique member suffix.
# Returns {admitted (0/1), remaining, ms until a slot frees (0 when admitted)}.
SLIDING_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
if used < limit then
  redis.call('ZADD', KEYS[1], now, now .. ':' .. ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, limit - used - 1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = window
if oldest[2] then wait = tonumber(oldest[2]) + window - now end
return {0, 0, wait}
"""


@dataclass(frozen=True)
class RateState:
    limit: int
    remaining: int
    reset_seconds: int


@lru_cache(maxsize=4)
def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


@lru_cache(maxsize=4)
def _script(url: str) -> Any:
    return redis_client(url).register_script(SLIDING_WINDOW)


def rate_take(*, bucket: str, limit: int, window_ms: int = WINDOW_MS) -> tuple[bool, RateState]:
    """Take one request from `bucket`; (admitted, state for the rate headers)."""
    prefix = str(getattr(settings, "API_RATE_KEY_PREFIX", "api:rl"))
    admitted, remaining, wait_ms = _script(str(settings.REDIS_URL))(
        keys=[f"{prefix}:{bucket}"], args=[limit, window_ms, secrets.token_hex(4)]
    )
    reset = -(-int(wait_ms) // 1000) if wait_ms else window_ms // 1000
    return bool(admitted), RateState(limit, int(remaining), max(1, reset))


STATE_ATTR = "_api_rate_state"


class ApiKeyRateThrottle(BaseThrottle):
    """Throttles requests authenticated by a key (``request.auth`` with ``pk`` and
    ``rate_limit_per_minute``); anonymous requests are refused by authentication anyway."""

    def __init__(self) -> None:
        self.state: RateState | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        key = request.auth
        limit = getattr(key, "rate_limit_per_minute", None)
        if key is None or not limit:
            return True
        admitted, self.state = rate_take(bucket=f"key:{key.pk}", limit=int(limit))
        setattr(request, STATE_ATTR, self.state)
        return admitted

    def wait(self) -> float | None:
        return float(self.state.reset_seconds) if self.state else None


def add_rate_headers(request: Request, response: Response) -> None:
    """The IETF draft's RateLimit-* fields on every answer to a throttled key."""
    state: RateState | None = getattr(request, STATE_ATTR, None)
    if state is None:
        return
    response["RateLimit-Limit"] = str(state.limit)
    response["RateLimit-Remaining"] = str(state.remaining)
    response["RateLimit-Reset"] = str(state.reset_seconds)
    response["RateLimit-Policy"] = f"{state.limit};w={WINDOW_MS // 1000}"
