"""The drill harness: runs the drills (all, or those named), prints each one's expectation and
outcome as it goes, then one summary table; the exit status is non-zero on any failure, loss or
duplicate.

A drill is a function `drill_<name>(stage: Stage) -> Outcome` in a `drills.drill_*` module,
whose docstring states the method and the pass criteria."""

from __future__ import annotations

import importlib
import inspect
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drills.topology import OwnPostgres, django_env, manage, own_postgres

MODULES = ("readyz", "webhooks", "sync", "tokens", "budget", "scaleout")
SETTINGS = "drills.settings"
TEMPLATE = "drill_template"


@dataclass
class Outcome:
    expected: str
    happened: str
    passed: bool
    figures: dict[str, Any] = field(default_factory=dict)  # rows, 5xx, lost, duplicates, ...


@dataclass
class Result:
    name: str
    outcome: Outcome | None
    seconds: float
    error: str = ""

    @property
    def passed(self) -> bool:
        return self.outcome is not None and self.outcome.passed and not self.error


class Stage:
    """What the drills share: a scratch folder and one PostgreSQL of the run's own with a
    migrated template database (each drill copies it: a clean database in a second)."""

    def __init__(self, stack: ExitStack, tmp: Path) -> None:
        self.stack, self.tmp = stack, tmp
        self._pg: OwnPostgres | None = None
        self._databases = 0

    @property
    def pg(self) -> OwnPostgres:
        if self._pg is None:
            self._pg = self.stack.enter_context(own_postgres())
            self._pg.create_database(TEMPLATE)
            manage(self.env(database=TEMPLATE), "migrate", "--noinput")
        return self._pg

    def database(self, prefix: str) -> str:
        """A fresh, migrated database for one drill."""
        self._databases += 1
        name = f"{prefix}_{self._databases}"
        self.pg.create_database(name, template=TEMPLATE)
        return name

    def env(
        self, *, database: str, redis_url: str = "redis://127.0.0.1:9/0", **extra: str
    ) -> dict[str, str]:
        return django_env(
            SETTINGS,
            DATABASE_URL=self.pg.url(database),
            REDIS_URL=redis_url,
            CELERY_BROKER_URL=redis_url,
            **extra,
        )

    def log(self, name: str) -> Path:
        return self.tmp / f"{name}.log"


def discover(names: Iterable[str] = ()) -> list[tuple[str, Callable[[Stage], Outcome]]]:
    wanted = set(names)
    found = []
    for module_name in MODULES:
        module = importlib.import_module(f"drills.drill_{module_name}")
        for attr, func in inspect.getmembers(module, inspect.isfunction):
            if attr.startswith("drill_") and func.__module__ == module.__name__:
                name = attr.removeprefix("drill_")
                if not wanted or name in wanted or module_name in wanted:
                    found.append((name, func))
    order = {name: i for i, name in enumerate(ORDER)}
    return sorted(found, key=lambda item: order.get(item[0], len(order)))


ORDER = (
    "readyz",
    "postgres_stop",
    "redis_restart",
    "worker_kill_mid_sync",
    "uninstall_mid_sync",
    "refresh_kill_before_call",
    "refresh_kill_after_answer",
    "refresh_kill_after_answer_agency",
    "refresh_kill_after_commit",
    "compressed_day",
    "no_local_state",
)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def table(results: list[Result]) -> str:
    header = ("drill", "result", "seconds", "what happened")
    rows = [header]
    for r in results:
        verdict = "pass" if r.passed else "FAIL"
        what = r.error or (r.outcome.happened if r.outcome else "")
        rows.append((r.name, verdict, f"{r.seconds:.0f}", what.splitlines()[0] if what else ""))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    lines = [" | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def _run_one(name: str, func: Callable[[Stage], Outcome], stage: Stage) -> Result:
    say(f"\n▶ {name}: {(func.__doc__ or '').strip().splitlines()[0]}")
    started = time.monotonic()
    try:
        outcome = func(stage)
    except Exception as exc:  # one broken drill must not hide the others' results
        say(traceback.format_exc())
        return Result(name, None, time.monotonic() - started, f"{type(exc).__name__}: {exc}")
    result = Result(name, outcome, time.monotonic() - started)
    say(f"  expected: {outcome.expected}")
    say(f"  happened: {outcome.happened}")
    if outcome.figures:
        say("  figures:  " + ", ".join(f"{k}={v}" for k, v in outcome.figures.items()))
    say(f"  → {'pass' if result.passed else 'FAIL'} in {result.seconds:.0f} s")
    return result


def run(names: Iterable[str] = ()) -> int:
    drills = discover(names)
    if not drills:
        say("no drill matched; known: " + ", ".join(ORDER))
        return 2
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="drills-", dir="/tmp") as tmp, ExitStack() as stack:
        stage = Stage(stack, Path(tmp))
        started = time.monotonic()
        for name, func in drills:
            results.append(_run_one(name, func, stage))
        elapsed = time.monotonic() - started
        failed = [r for r in results if not r.passed]
        if failed:  # keep the logs of a failed run: copy them next to the results
            keep = Path(tempfile.mkdtemp(prefix="drills-logs-", dir="/tmp"))
            for log in Path(tmp).glob("*.log"):
                (keep / log.name).write_bytes(log.read_bytes())
            say(f"logs kept in {keep}")
    print(table(results))
    print(f"({len(results)} drills in {elapsed:.0f} s, {len(failed)} failed)")
    return 1 if failed else 0


def wait_until(
    check: Callable[[], bool], what: str, timeout: float = 60.0, step: float = 0.1
) -> float:
    """Polls `check` until it holds; returns the seconds waited."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        time.sleep(step)
    return time.monotonic() - started
