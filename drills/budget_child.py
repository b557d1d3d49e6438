"""A child process of the budget drills: `python -m drills.budget_child <seconds> <pk> ...`
with the drill's settings in the environment. For each installation, one thread calls GHL at
bulk priority as fast as the governor lets it, until the day's budget for bulk is spent, and
another makes an interactive call every 100 ms, until the whole day's budget is spent or the
time is up. Prints JSON: per installation, the calls made and refused at each priority and the
slowest interactive call (how long a person would have waited)."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

import django

INTERACTIVE_EVERY_S = 0.1


def _worker(installation_pk: int, priority_name: str, until: float, out: dict[str, Any]) -> None:
    from django.db import connections

    from integrations.ghl import operations as ops
    from integrations.ghl.client import GhlClient
    from integrations.ghl.errors import GhlError, GhlRateLimited
    from integrations.ghl.governor import Priority
    from integrations.ghl.models import GhlInstallation

    installation = GhlInstallation.objects.unscoped().get(pk=installation_pk)
    op = ops.location_get(location_id=str(installation.ghl_location_id))
    stats: dict[str, Any] = {"ok": 0, "budget_spent": 0, "errors": 0, "slowest_s": 0.0, "error": ""}
    out[priority_name] = stats
    interactive = priority_name == "interactive"
    try:
        with GhlClient(installation, priority=Priority[priority_name.upper()]) as ghl:
            while time.monotonic() < until:
                started = time.monotonic()
                try:
                    ghl.run(op)
                except GhlRateLimited as exc:
                    if "daily" not in str(exc):
                        stats["errors"] += 1
                        stats["error"] = str(exc)
                    stats["budget_spent"] += 1
                    break  # a task would reschedule for tomorrow; a person sees "try later"
                except GhlError as exc:
                    stats["errors"] += 1
                    stats["error"] = str(exc)
                    continue
                took = time.monotonic() - started
                stats["ok"] += 1
                stats["slowest_s"] = round(max(stats["slowest_s"], took), 3)
                if interactive:
                    time.sleep(max(0.0, INTERACTIVE_EVERY_S - took))
    finally:
        connections.close_all()


def main(seconds: float, pks: list[int]) -> dict[str, Any]:
    django.setup()
    until = time.monotonic() + seconds
    results: dict[str, Any] = {}
    threads = []
    for pk in pks:
        results[str(pk)] = {}
        for priority in ("bulk", "interactive"):
            thread = threading.Thread(target=_worker, args=(pk, priority, until, results[str(pk)]))
            thread.start()
            threads.append(thread)
    for thread in threads:
        thread.join()
    return results


if __name__ == "__main__":
    print(json.dumps(main(float(sys.argv[1]), [int(pk) for pk in sys.argv[2:]])))
