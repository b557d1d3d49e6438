"""Recording of GHL calls (method, path, status, latency, rate headers, error; never a secret)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from .models import GhlCallLog, GhlInstallation
from .transport import Record


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.lstrip("-").isdigit() else None


@dataclass
class CallRecorder:
    """Collects call records and writes them in batches (`flush_every=1`: at once)."""

    agency_id: int
    location_id: int | None = None
    installation_id: int | None = None
    priority: str = ""
    flush_every: int = 1
    pending: list[GhlCallLog] = field(default_factory=list)
    count: int = 0  # calls recorded so far (a sync run reports how many it made)
    # A sync reads pages on one thread and writes (and flushes these records) on another.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # Written only by an explicit flush (after a commit, or off an event loop).
    MANUAL_FLUSH = 10**9

    @classmethod
    def for_installation(
        cls, installation: GhlInstallation, *, priority: str, flush_every: int = MANUAL_FLUSH
    ) -> CallRecorder:
        return cls(
            agency_id=installation.agency_id,
            location_id=installation.location_id,
            installation_id=installation.pk,
            priority=priority,
            flush_every=flush_every,
        )

    def __call__(self, record: Record) -> None:
        headers = record.headers
        entry = GhlCallLog(
            agency_id=self.agency_id,
            location_id=self.location_id,
            installation_id=self.installation_id,
            method=record.call.method,
            path=record.call.path[:500],  # no query string: it can carry people's data
            status=record.status,
            latency_ms=record.latency_ms,
            priority=self.priority,
            attempt=record.attempt,
            rate_remaining=_int(headers.get("X-RateLimit-Remaining")) if headers else None,
            daily_remaining=(_int(headers.get("X-RateLimit-Daily-Remaining")) if headers else None),
            error=record.error[:2000],
        )
        with self._lock:
            self.count += 1
            self.pending.append(entry)
            due = len(self.pending) >= self.flush_every
        if due:
            self.flush()

    @property
    def due(self) -> bool:
        return len(self.pending) >= self.flush_every

    def flush(self) -> None:
        calls_write(self.take())

    def take(self) -> list[GhlCallLog]:
        """The records not yet written, for a caller writing several recorders' at once."""
        with self._lock:
            rows, self.pending = self.pending, []
        return rows


def calls_write(rows: list[GhlCallLog]) -> None:
    """Call records of any installations, in one INSERT."""
    if rows:
        GhlCallLog.objects.bulk_create(rows)


def call_log_prune(*, now: datetime | None = None) -> int:
    """Delete call records older than the retention period; returns how many went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.GHL_CALL_LOG_RETENTION_DAYS)
    deleted, _ = GhlCallLog.objects.unscoped().filter(created_at__lt=cutoff).delete()
    return deleted
