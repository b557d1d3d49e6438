"""A compressed GHL day against the daily budget: several locations, bulk and interactive work
at once, from several processes, until each location's day is spent."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from drills.harness import Outcome, Stage
from drills.platform import DUBAI, platform
from drills.topology import ROOT

LOCATIONS = {DUBAI: "dubai", "DemoLocApexClinic001": "clinic", "DemoLocBoltPlumb0001": "plumb"}
TIME_FACTOR = 10  # GHL's 10 s burst window lasts 1 s
DAILY = 500  # the day's budget per location, scaled down from GHL's 200,000 with the clock
PROCESSES = 2
SECONDS = 60  # a cap: each location's day is spent long before
SLOWEST_INTERACTIVE_S = 2.5  # over two windows: a person would have been kept waiting


def drill_compressed_day(stage: Stage) -> Outcome:
    """Method: the stand-in's clock runs 10x (a 1 s burst window) and its daily limit is 500
    per location; our governor is configured to match (GHL_RATE_WINDOW_MS=1000,
    GHL_RATE_DAILY_LIMIT=500; bulk keeps the default 10 % of the day and 10 turns per window
    free). Three locations of two agencies are installed; two processes each run, per
    location, a bulk thread calling as fast as allowed and an interactive thread calling every
    100 ms, until the day's budget refuses them. Pass, per location: GHL (the stand-in) counts
    no more requests than the daily limit and answered no 429; bulk was stopped by the budget
    with its reserve left; interactive calls never failed, the slowest waited under 2.5 s, and
    they used the reserve (the day ends at least 98 % spent)."""
    extra = {"GHL_RATE_WINDOW_MS": "1000", "GHL_RATE_DAILY_LIMIT": str(DAILY),
             "GHL_RATE_SAFETY_MS": "50"}  # fmt: skip
    with platform(stage, "day", time_factor=TIME_FACTOR, **extra) as p:
        p.ghl.set_config(rate_limits={"daily_limit": DAILY, "burst_max": 100,
                                      "burst_window_s": 10.0})  # fmt: skip
        for location in LOCATIONS:
            p.install(location)
        query = "SELECT id, ghl_location_id FROM integrations_ghlinstallation"
        pks = {str(pk): loc for pk, loc in p.sql(query) if loc}
        children = [
            subprocess.Popen(
                [sys.executable, "-m", "drills.budget_child", str(SECONDS), *pks],
                cwd=ROOT,
                env=p.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(PROCESSES)
        ]
        reports = []
        for child in children:
            out, err = child.communicate(timeout=SECONDS + 60)
            if child.returncode:
                raise RuntimeError(f"budget child failed: {err[-3000:]}")
            reports.append(json.loads(out.strip().splitlines()[-1]))
        counters = {loc: p.ghl.counters(loc) for loc in LOCATIONS}
    per_location: dict[str, dict[str, Any]] = {}
    for pk, loc in pks.items():
        bulk = [r[pk]["bulk"] for r in reports]
        inter = [r[pk]["interactive"] for r in reports]
        per_location[LOCATIONS[loc]] = {
            "ghl_requests": counters[loc]["requests"],
            "ghl_429": counters[loc]["rate_limited"],
            "bulk_ok": sum(b["ok"] for b in bulk),
            "bulk_stopped_by_budget": all(b["budget_spent"] for b in bulk),
            "interactive_ok": sum(i["ok"] for i in inter),
            "interactive_errors": sum(i["errors"] for i in inter),
            "interactive_slowest_s": max(i["slowest_s"] for i in inter),
        }
    failures = [
        loc
        for loc, f in per_location.items()
        if not (
            f["ghl_requests"] <= DAILY
            and f["ghl_requests"] >= 0.98 * DAILY
            and f["ghl_429"] == 0
            and f["bulk_stopped_by_budget"]
            and f["bulk_ok"] <= DAILY * 0.9
            and f["interactive_errors"] == 0
            and f["interactive_slowest_s"] < SLOWEST_INTERACTIVE_S
        )
    ]
    summary = "; ".join(
        f"{loc}: {f['ghl_requests']}/{DAILY} at GHL, {f['ghl_429']} 429, bulk "
        f"{f['bulk_ok']}, interactive {f['interactive_ok']} (slowest "
        f"{f['interactive_slowest_s']:.2f} s, {f['interactive_errors']} errors)"
        for loc, f in per_location.items()
    )
    return Outcome(
        expected=f"per location: ≤ {DAILY} requests at GHL and ≥ 98 % used, 0 429s, bulk "
        "stopped with the reserve left, interactive never failed nor waited ≥ 2.5 s",
        happened=summary + (f"; FAILED for {failures}" if failures else ""),
        passed=not failures,
        figures=per_location,
    )
