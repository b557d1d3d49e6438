"""The bench harness: discovers `bench/bench_*.py`, runs each module's `run(ctx)`, prints one table
of figures beside their baselines (measured in the same run), ratios, goals and pass/fail, and
writes the same as JSON under the git-ignored `bench/results/`.

A benchmark module:

    '''Method: how the figure is measured (one docstring).'''
    ORDER = 50  # optional; lower runs first (the baseline is 0)

    def run(ctx: BenchContext) -> list[Figure]: ...
"""

from __future__ import annotations

import importlib
import json
import operator
import re
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
GOAL = re.compile(r"^(ratio\s+)?(>=|<=|>|<)\s*([0-9.]+)$")
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


@dataclass
class Figure:
    id: str
    name: str
    value: float
    unit: str
    goal: str | None = None  # ">= 1500" on the value, or "ratio >= 0.4" on value / baseline
    baseline: float | None = None
    baseline_name: str | None = None
    notes: str = ""
    # Why the figure could not be measured on this machine (a missing browser, say): reported,
    # never judged, so the run does not fail for it.
    skipped: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline  # type: ignore[operator]

    @property
    def passed(self) -> bool | None:
        if not self.goal or self.skipped:
            return None
        match = GOAL.match(self.goal.strip())
        if not match:
            raise ValueError(f"{self.id}: goal {self.goal!r} is not like '>= 10' or 'ratio >= 0.4'")
        on_ratio, op, threshold = match.groups()
        measured = self.ratio if on_ratio else self.value
        return measured is not None and OPERATORS[op](measured, float(threshold))


@dataclass
class BenchContext:
    tmp: Path
    python: str = sys.executable
    figures: dict[str, Figure] = field(default_factory=dict)

    @staticmethod
    def free_port() -> int:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])

    def baseline(self, figure_id: str) -> Figure:
        """A figure measured earlier in this run (e.g. "B0", the bare-view baseline)."""
        if figure_id not in self.figures:
            raise LookupError(f"baseline {figure_id} was not measured in this run")
        return self.figures[figure_id]


def discover(names: Iterable[str] = ()) -> list[ModuleType]:
    wanted = set(names)
    modules = []
    for path in sorted((ROOT / "bench").glob("bench_*.py")):
        name = path.stem.removeprefix("bench_")
        if wanted and name not in wanted and path.stem not in wanted:
            continue
        modules.append(importlib.import_module(f"bench.{path.stem}"))
    return sorted(modules, key=lambda m: getattr(m, "ORDER", 100))


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def table(figures: list[Figure]) -> str:
    header = ("id", "benchmark", "value", "unit", "baseline", "ratio", "goal", "result")
    rows = [header]
    for f in figures:
        result = "skipped" if f.skipped else {True: "pass", False: "FAIL", None: ""}[f.passed]
        baseline = f"{_fmt(f.baseline)} ({f.baseline_name})" if f.baseline is not None else "—"
        ratio = f"{f.ratio:.2f}x" if f.ratio is not None else "—"
        value = "—" if f.skipped else _fmt(f.value)
        rows.append((f.id, f.name, value, f.unit, baseline, ratio, f.goal or "", result))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    lines = [" | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def run(names: Iterable[str] = ()) -> int:
    modules = discover(names)
    if not modules:
        print("no benchmarks matched", file=sys.stderr)
        return 2
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        ctx = BenchContext(tmp=Path(tmp))
        started = time.monotonic()
        for module in modules:
            print(f"▶ {module.__name__} …", file=sys.stderr, flush=True)
            try:
                for figure in module.run(ctx):
                    ctx.figures[figure.id] = figure
            except Exception as exc:  # a broken benchmark must not hide the others' figures
                errors.append(f"{module.__name__}: {type(exc).__name__}: {exc}")
        elapsed = time.monotonic() - started
    figures = list(ctx.figures.values())
    print(table(figures))
    for error in errors:
        print(f"ERROR {error}")
    print(f"({len(figures)} figures in {elapsed:.0f} s)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    payload = {
        "when": when,
        "seconds": round(elapsed, 1),
        "errors": errors,
        "figures": [{**asdict(f), "ratio": f.ratio, "passed": f.passed} for f in figures],
    }
    text = json.dumps(payload, indent=2)
    (RESULTS / "latest.json").write_text(text)
    (RESULTS / f"bench-{when.replace(':', '')}.json").write_text(text)
    failed = [f.id for f in figures if f.passed is False]
    return 1 if errors or failed else 0
