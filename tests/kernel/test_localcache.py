"""The per-process lookup cache: entries age out, hits are private copies, misses are not kept,
the size is bounded, and a read racing a change does not store the old row."""

from __future__ import annotations

import time
from typing import Any

from saas_platform.kernel.localcache import LocalCache, local_caches_clear


def test_an_entry_lives_at_most_its_age() -> None:
    cache: LocalCache[dict[str, int]] = LocalCache("test.age", seconds=0.05)
    loads: list[int] = []

    def load() -> dict[str, int]:
        loads.append(1)
        return {"n": len(loads)}

    assert cache.get_or_load("k", load) == {"n": 1}
    assert cache.get_or_load("k", load) == {"n": 1}
    time.sleep(0.06)
    assert cache.get_or_load("k", load) == {"n": 2}


def test_each_hit_is_a_private_copy() -> None:
    cache: LocalCache[dict[str, Any]] = LocalCache("test.copy", seconds=10)
    first = cache.get_or_load("k", lambda: {"name": "Brand A"})
    assert first is not None
    first["name"] = "changed by one request"
    assert cache.get_or_load("k", lambda: None) == {"name": "Brand A"}


def test_a_miss_is_not_kept_and_the_size_is_bounded() -> None:
    cache: LocalCache[int] = LocalCache("test.size", seconds=10, size=2)
    assert cache.get_or_load("unknown", lambda: None) is None
    assert cache.get_or_load("unknown", lambda: 7) == 7  # the miss was asked again
    cache.get_or_load("b", lambda: 2)
    cache.get_or_load("c", lambda: 3)
    assert cache.get("unknown") is None and cache.get("b") == 2 and cache.get("c") == 3


def test_a_read_overtaken_by_a_change_is_not_stored() -> None:
    cache: LocalCache[str] = LocalCache("test.race", seconds=10)

    def load_while_the_row_changes() -> str:
        cache.clear()  # what a save receiver does while this read is in flight
        return "old row"

    assert cache.get_or_load("k", load_while_the_row_changes) == "old row"
    assert cache.get_or_load("k", lambda: "new row") == "new row"


def test_all_caches_can_be_emptied() -> None:
    cache: LocalCache[int] = LocalCache("test.all", seconds=10)
    cache.get_or_load("k", lambda: 1)
    local_caches_clear()
    assert cache.get("k") is None
