"""Handing stored events to the workers without making GHL wait for it.

Publishing a Celery message costs more than everything else the webhook endpoint does, so the
endpoint only notes the new row's id after its commit; a background thread of the web process
publishes the ids, several per message when events arrive together. Nothing is at risk: the row
is already committed, and if the process dies before publishing, the periodic sweep picks the
row up. Where tasks run eagerly (tests) the id is published at once, on the caller's thread."""

from __future__ import annotations

import atexit
import os
import queue
import threading
import time

from django.conf import settings

from saas_platform.kernel.logging import get_logger

log = get_logger(__name__)

BATCH = 100
# How long the first id of a batch waits for company: under load one message carries many ids
# (a publish costs ~1.5 ms of CPU, more than the rest of a webhook); idle, an event waits 20 ms.
LINGER_SECONDS = 0.02


class Dispatcher:
    def __init__(self) -> None:
        self._ids: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._pid: int | None = None
        self._guard = threading.Lock()

    def submit(self, event_pk: int) -> None:
        if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
            self._publish([event_pk])
            return
        self._ensure_thread()
        self._ids.put(event_pk)

    def _ensure_thread(self) -> None:
        # A forked process (gunicorn, Celery) inherits no running thread: start one per pid.
        if self._pid == os.getpid():
            return
        with self._guard:
            if self._pid != os.getpid():
                self._ids = queue.SimpleQueue()
                threading.Thread(target=self._run, name="inbox-dispatch", daemon=True).start()
                self._pid = os.getpid()

    def _take(self, first: int, linger: float = 0.0) -> list[int]:
        batch = [first]
        deadline = time.monotonic() + linger
        while len(batch) < BATCH:
            try:
                remaining = deadline - time.monotonic()
                if remaining > 0:
                    batch.append(self._ids.get(timeout=remaining))
                else:
                    batch.append(self._ids.get_nowait())
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        while True:
            self._publish(self._take(self._ids.get(), LINGER_SECONDS))

    def flush(self) -> None:
        """Publish whatever is waiting (at exit)."""
        while True:
            try:
                first = self._ids.get_nowait()
            except queue.Empty:
                return
            self._publish(self._take(first))

    @staticmethod
    def _publish(batch: list[int]) -> None:
        from integrations.tasks import inbound_event_process, inbound_events_process

        try:
            if len(batch) == 1:
                inbound_event_process.apply_async((batch[0],))
            else:
                inbound_events_process.apply_async((batch,))
        except Exception as exc:  # broker down: the rows are stored; the sweep enqueues them
            log.error("inbox.dispatch_failed", events=len(batch), error=str(exc))


dispatcher = Dispatcher()
atexit.register(dispatcher.flush)
