"""Counters per resource (location or company) and a bounded request log.

Tests and benchmarks read these through ``GET /_sandbox/counters`` and ``/_sandbox/requests``.
"""

from __future__ import annotations

from collections import Counter, deque
from typing import Any

COUNTER_NAMES = (
    "requests",
    "rate_limited",
    "token_exchanges",
    "refreshes",
    "refresh_token_reuse",
    "location_tokens",
    "invalid_tokens",
    "webhooks_sent",
    "webhook_attempts",
    "webhooks_delivered",
    "webhooks_lost",
    "webhook_retries",
    "faults_injected",
)


class Metrics:
    def __init__(self, log_size: int = 5000) -> None:
        self.by_resource: dict[str, Counter[str]] = {}
        self.totals: Counter[str] = Counter()
        self.log: deque[dict[str, Any]] = deque(maxlen=log_size)
        self._seq = 0

    def reset(self, log_size: int | None = None) -> None:
        self.by_resource.clear()
        self.totals.clear()
        self.log = deque(maxlen=log_size or self.log.maxlen)

    def count(self, resource: str | None, name: str, amount: int = 1) -> None:
        self.totals[name] += amount
        if resource:
            bucket = self.by_resource.get(resource)
            if bucket is None:
                bucket = self.by_resource[resource] = Counter()
            bucket[name] += amount

    def record(
        self,
        method: str,
        path: str,
        status: int,
        resource: str | None,
        client_id: str | None,
        duration_ms: float,
        at_ms: int,
    ) -> None:
        self._seq += 1
        self.log.append(
            {
                "seq": self._seq,
                "at": at_ms,
                "method": method,
                "path": path,
                "status": status,
                "resource": resource,
                "clientId": client_id,
                "durationMs": round(duration_ms, 3),
            }
        )

    def snapshot(self, resource: str | None = None) -> dict[str, Any]:
        def full(counter: Counter[str]) -> dict[str, int]:
            return {name: counter.get(name, 0) for name in COUNTER_NAMES}

        if resource is not None:
            return full(self.by_resource.get(resource, Counter()))
        return {
            "totals": full(self.totals),
            "resources": {key: full(c) for key, c in sorted(self.by_resource.items())},
        }

    def requests(
        self, resource: str | None = None, limit: int = 100, since_seq: int = 0
    ) -> list[dict[str, Any]]:
        rows = [
            r
            for r in self.log
            if r["seq"] > since_seq and (resource is None or r["resource"] == resource)
        ]
        return rows[-limit:]
