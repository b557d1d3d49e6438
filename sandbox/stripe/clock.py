"""Stand-in time: real time plus an offset the control API advances, optionally running faster.

Everything billing-related (trials, periods, retry schedule, session and link expiry) reads
this clock, so a test can move a month ahead in one call. Webhook signatures use the real wall
clock instead, because receivers check ``t`` against their own clock.
"""

from __future__ import annotations

import time


class Clock:
    def __init__(self, factor: float = 1.0) -> None:
        if factor <= 0:
            raise ValueError("time factor must be positive")
        self.factor = float(factor)
        self._anchor = time.time()
        self._mono = time.monotonic()
        self.offset = 0.0

    def now(self) -> int:
        elapsed = (time.monotonic() - self._mono) * self.factor
        return int(self._anchor + elapsed + self.offset)

    def advance(self, seconds: float) -> int:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.offset += seconds
        return self.now()

    def reset(self) -> None:
        self._anchor = time.time()
        self._mono = time.monotonic()
        self.offset = 0.0

    def to_real(self, seconds: float) -> float:
        return seconds / self.factor
