"""Stand-in time.

Durations (token lifetimes, the burst window, the daily budget period, webhook retry delays) run
``factor`` times faster than real time so tests can exercise a day of behaviour in seconds.
Timestamps written into payloads stay on the real wall clock: a webhook receiver checks
``timestamp`` against its own clock, and a compressed clock would drift into the future.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

_EPOCH = date(1970, 1, 1)


class Clock:
    def __init__(self, factor: float = 1.0) -> None:
        self._factor = 1.0
        self._anchor_standin = time.time()
        self._anchor_mono = time.monotonic()
        self.set_factor(factor)

    @property
    def factor(self) -> float:
        return self._factor

    def set_factor(self, factor: float) -> None:
        if factor <= 0:
            raise ValueError("time factor must be positive")
        # Re-anchor so stand-in time stays continuous when the factor changes mid-run.
        self._anchor_standin = self.now()
        self._anchor_mono = time.monotonic()
        self._factor = float(factor)

    def now(self) -> float:
        """Stand-in epoch seconds (advances ``factor`` times faster than real time)."""
        return self._anchor_standin + (time.monotonic() - self._anchor_mono) * self._factor

    def to_real(self, standin_seconds: float) -> float:
        """How many real seconds a stand-in duration lasts."""
        return standin_seconds / self._factor

    @staticmethod
    def wall_ms() -> int:
        return int(time.time() * 1000)


@lru_cache(maxsize=4096)
def _utc_date(day: int) -> str:
    return (_EPOCH + timedelta(days=day)).isoformat()


def iso_ms(epoch_ms: int) -> str:
    """GHL timestamp format: ISO-8601 UTC with milliseconds and ``Z``."""
    # Arithmetic plus a per-day cache: seeding formats hundreds of thousands of these.
    day, rest = divmod(int(epoch_ms), 86_400_000)
    seconds, millis = divmod(rest, 1000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{_utc_date(day)}T{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"


def now_iso() -> str:
    return iso_ms(Clock.wall_ms())


def parse_iso_ms(value: str) -> int:
    """Epoch ms from an ISO-8601 string (with ``Z`` or an offset); raises ValueError."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)
