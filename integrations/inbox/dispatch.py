"""Handing stored events to the workers without making GHL wait for it.

Publishing a Celery message costs more CPU than everything else the webhook endpoint does, so
the endpoint publishes nothing itself. After its commit it only wakes this process's dispatch
thread, which asks for a *drain*: one task that claims every pending row, whoever stored it.
While a drain is asked for and not yet started (a flag in Redis, cleared by the drain as it
starts), nobody asks again, so a burst of thousands of events costs a handful of messages.

Nothing is at risk: the rows are committed before anyone is woken, a drain clears the flag
before it looks for rows (so a row committed after that look finds the flag clear and asks for
the next drain), the flag expires should its drain be lost, and the periodic sweep asks for a
drain when pending rows grow old. Where tasks run eagerly (tests) the event is processed at
once, on the caller's thread."""

from __future__ import annotations

import atexit
import os
import threading
import time

from django.conf import settings
from django.core.cache import cache

from saas_platform.kernel.logging import get_logger

log = get_logger(__name__)

DRAIN_FLAG = "inbox:drain-requested"
# A drain asked for and lost (broker restart) blocks the next request only this long.
DRAIN_FLAG_SECONDS = 10
# How long a wake-up waits for company: under load one check of the flag covers many events;
# idle, an event waits this long before its drain is asked for.
LINGER_SECONDS = 0.02


def drain_request(*, force: bool = False) -> bool:
    """Publish a drain unless one is already waiting to start; True when one was published."""
    from integrations.tasks import inbound_events_drain

    try:
        if not cache.add(DRAIN_FLAG, 1, timeout=DRAIN_FLAG_SECONDS) and not force:
            return False
        inbound_events_drain.apply_async()
    except Exception as exc:  # Redis or the broker down: the rows wait for the sweep
        log.error("inbox.drain_request_failed", error=str(exc))
        return False
    return True


def drain_started() -> None:
    """Called by a drain before it looks for rows: the next commit asks for a new drain."""
    cache.delete(DRAIN_FLAG)


class Dispatcher:
    def __init__(self) -> None:
        self._wake = threading.Event()
        self._pid: int | None = None
        self._guard = threading.Lock()

    def submit(self, event_pk: int) -> None:
        if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
            from integrations.tasks import inbound_event_process

            inbound_event_process.apply_async((event_pk,))
            return
        self._ensure_thread()
        self._wake.set()

    def _ensure_thread(self) -> None:
        # A forked process (gunicorn, Celery) inherits no running thread: start one per pid.
        if self._pid == os.getpid():
            return
        with self._guard:
            if self._pid != os.getpid():
                self._wake = threading.Event()
                threading.Thread(target=self._run, name="inbox-dispatch", daemon=True).start()
                self._pid = os.getpid()

    def _run(self) -> None:
        wake = self._wake
        while True:
            wake.wait()
            # Sleep rather than wait on each event: under load the thread wakes once per linger,
            # not once per request (each wake-up costs the request threads the GIL).
            time.sleep(LINGER_SECONDS)
            wake.clear()
            drain_request()

    def flush(self) -> None:
        """At exit: ask for the drain a wake-up was still lingering for."""
        if self._pid == os.getpid() and self._wake.is_set():
            drain_request()


dispatcher = Dispatcher()
atexit.register(dispatcher.flush)
