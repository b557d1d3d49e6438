"""A short-lived cache, in each process, for the lookups every request repeats (the Host's
agency, an API key and its location): a query each saved on nearly every request.

* **Bounded age.** An entry lives at most `seconds` (a number, or a function read on each use)
  from the moment its read *began* (monotonic clock), so a change made anywhere — another
  process, another server, a bulk ``UPDATE`` — is seen within that time. The process that makes
  a change also drops the entries as it writes (the owner connects ``clear`` to its models' save
  and delete signals), and a read that was under way then does not store what it read.
* **Private copies.** Values are kept pickled: every hit is a new instance, so a request that
  changes its copy (a form bound to ``request.agency``) changes no other request's.
* **Bounded size.** At most `size` entries, the oldest dropped first; a miss (None) is never
  kept, so made-up Hosts cost a query each, never memory.
"""

from __future__ import annotations

import pickle
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

_ALL: weakref.WeakSet[LocalCache[object]] = weakref.WeakSet()


class LocalCache(Generic[V]):
    def __init__(
        self, name: str, *, seconds: float | Callable[[], float], size: int = 1024
    ) -> None:
        self.name = name
        self._seconds = seconds
        self.size = size
        self._entries: dict[Hashable, tuple[float, bytes]] = {}
        self._lock = threading.Lock()
        # Bumped by every discard: a read that began before one must not store what it read.
        self._generation = 0
        _ALL.add(self)  # type: ignore[arg-type]

    @property
    def seconds(self) -> float:
        return self._seconds() if callable(self._seconds) else self._seconds

    def get(self, key: Hashable) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        born, blob = entry
        if time.monotonic() - born >= self.seconds:
            return None
        value: V = pickle.loads(blob)  # noqa: S301 — our own pickles, never from outside
        return value

    def get_or_load(self, key: Hashable, load: Callable[[], V | None]) -> V | None:
        hit = self.get(key)
        if hit is not None:
            return hit
        generation, began = self._generation, time.monotonic()
        value = load()
        if value is not None:
            blob = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
            with self._lock:
                if generation == self._generation:
                    self._entries.pop(key, None)  # re-inserted last: the oldest go first
                    self._entries[key] = (began, blob)
                    while len(self._entries) > self.size:
                        del self._entries[next(iter(self._entries))]
        return value

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()


def local_caches_clear() -> None:
    """Every cache of this process (tests start each case with none)."""
    for cache in list(_ALL):
        cache.clear()
