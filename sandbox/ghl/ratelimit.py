"""GHL's rate limits per (app client id, location or company): a burst window and a daily budget.

The burst limit is a strict sliding window (at most ``burst_max`` accepted requests in any
``burst_window_s`` span of stand-in time). The daily budget resets at UTC midnight of stand-in
time. A rejected (429) request consumes neither.

Header choice under time compression: ``X-RateLimit-Interval-Milliseconds`` reports the window in
*real* milliseconds (window / factor), so a client governor that sleeps for the interval waits
the right amount of wall time.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from sandbox.ghl.clock import Clock
from sandbox.ghl.config import RateLimitConfig

Key = tuple[str, str]

UNLIMITED = 1_000_000_000


@dataclass(slots=True)
class _Bucket:
    window: deque[float] = field(default_factory=deque)
    day: int = -1
    used_today: int = 0


class RateLimiter:
    def __init__(self, config: RateLimitConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self._buckets: dict[Key, _Bucket] = {}

    def reset(self) -> None:
        self._buckets.clear()

    def check(self, key: Key) -> tuple[bool, list[tuple[bytes, bytes]]]:
        """Admit or reject one request; returns (allowed, the five rate-limit headers)."""
        cfg = self.config
        now = self.clock.now()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket()
        day = int(now // 86400)
        if bucket.day != day:
            bucket.day, bucket.used_today = day, 0
        window = bucket.window
        horizon = now - cfg.burst_window_s
        while window and window[0] <= horizon:
            window.popleft()

        allowed = cfg.unlimited or (
            len(window) < cfg.burst_max and bucket.used_today < cfg.daily_limit
        )
        if allowed and not cfg.unlimited:
            window.append(now)
            bucket.used_today += 1
        interval_ms = round(cfg.burst_window_s * 1000 / self.clock.factor)
        # Unlimited mode advertises what it enforces (nothing), so a client's governor that
        # learns limits from these headers is not throttled by a limit that does not exist.
        burst_max = UNLIMITED if cfg.unlimited else cfg.burst_max
        daily_limit = UNLIMITED if cfg.unlimited else cfg.daily_limit
        headers = [
            (b"x-ratelimit-limit-daily", str(daily_limit).encode()),
            (
                b"x-ratelimit-daily-remaining",
                str(max(0, daily_limit - bucket.used_today)).encode(),
            ),
            (b"x-ratelimit-interval-milliseconds", str(max(1, interval_ms)).encode()),
            (b"x-ratelimit-max", str(burst_max).encode()),
            (b"x-ratelimit-remaining", str(max(0, burst_max - len(window))).encode()),
        ]
        return allowed, headers
