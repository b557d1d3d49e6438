"""A token refresh SIGKILLed at three points. GHL refresh tokens are single use: the pair GHL
hands back must be stored, or the installation can no longer refresh."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from drills.harness import Outcome, Stage, wait_until
from drills.platform import DUBAI, Platform, platform
from drills.topology import ROOT


def _installation(p: Platform) -> int:
    return int(
        p.one("SELECT id FROM integrations_ghlinstallation WHERE ghl_location_id = %s", DUBAI)
    )


def _token_state(p: Platform, pk: int) -> dict[str, Any]:
    found = p.sql(
        "SELECT i.status, t.generation FROM integrations_ghlinstallation i"
        " LEFT JOIN integrations_ghltoken t ON t.installation_id = i.id WHERE i.id = %s",
        pk,
    )
    status, generation = found[0]
    return {"status": status, "generation": generation}


def _child(p: Platform, pk: int, point: str, marker: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "drills.refresh_child", str(pk), point],
        cwd=ROOT,
        env={**p.env, "DRILL_MARKER": str(marker)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_child(p: Platform, pk: int, point: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "drills.refresh_child", str(pk), point],
        cwd=ROOT, env=p.env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"refresh child {point} failed: {done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _kill_at(stage: Stage, point: str) -> dict[str, Any]:
    """Install, SIGKILL a refresh at `point`, then run what a later task does; the figures."""
    with platform(stage, f"refresh_{point}") as p:
        p.install(DUBAI)
        pk = _installation(p)
        before = p.ghl.counters(DUBAI)
        generation = _token_state(p, pk)["generation"]
        marker = stage.tmp / f"refresh-{point}.marker"
        child = _child(p, pk, point, marker)
        try:
            wait_until(marker.exists, f"the refresh to reach {point}", timeout=60, step=0.02)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        at_kill = p.ghl.counters(DUBAI)
        state_after_kill = _token_state(p, pk)
        check = run_child(p, pk, "check")
        after = p.ghl.counters(DUBAI)
        state = _token_state(p, pk)
    return {
        "refreshes_at_kill": at_kill["refreshes"] - before["refreshes"],
        "generation_at_kill": (state_after_kill["generation"] or 0) - generation,
        "refreshes_total": after["refreshes"] - before["refreshes"],
        "refresh_token_reuse": after["refresh_token_reuse"] - before["refresh_token_reuse"],
        "status": state["status"],
        "generation_total": (state["generation"] or 0) - generation,
        "call": check["call"],
        "rotate": check["rotate"],
        "call_after": check["call_after"],
    }


def _outcome(figures: dict[str, Any], expected: dict[str, Any], summary: str) -> Outcome:
    wrong = {k: (figures.get(k), v) for k, v in expected.items() if figures.get(k) != v}
    return Outcome(
        expected=summary,
        happened=(
            f"{figures['refreshes_at_kill']} refresh(es) at GHL at the kill, "
            f"{figures['refreshes_total']} in all, {figures['refresh_token_reuse']} reuse; "
            f"later call {figures['call']}; rotation {figures['rotate']}; then call "
            f"{figures['call_after']}; installation {figures['status']}"
            + (f"; UNEXPECTED (got, wanted): {wrong}" if wrong else "")
        ),
        passed=not wrong,
        figures=figures,
    )


def drill_refresh_kill_before_call(stage: Stage) -> Outcome:
    """Method: a location installed through our OAuth callback; a child process rotates its
    token through the vault (under the row lock) and is SIGKILLed just before the call to GHL's
    token endpoint; then a later process makes a GHL call, forces a rotation, and calls again.
    Pass: GHL saw no refresh at the kill (the refresh token is unspent); the later call
    succeeds with the stored token, the rotation succeeds (1 refresh in all, 0 reuse), the
    installation stays healthy."""
    figures = _kill_at(stage, "before")
    expected = {"refreshes_at_kill": 0, "generation_at_kill": 0, "refreshes_total": 1,
                "refresh_token_reuse": 0, "call": "ok", "rotate": "ok", "call_after": "ok",
                "status": "healthy", "generation_total": 1}  # fmt: skip
    return _outcome(
        figures,
        expected,
        "0 refreshes at the kill; later: call ok, 1 rotation (no reuse), call ok, healthy",
    )


def drill_refresh_kill_after_answer(stage: Stage) -> Outcome:
    """Method: as above, SIGKILLed after GHL answered the refresh (the pair rotated at GHL) but
    before our transaction committed: the new pair dies with the process, the database rolls
    back to the spent refresh token. The design (docs/ghl-connection.md): GHL refuses the spent
    token (invalid_grant); a location without a connected agency cannot be re-minted, so it
    becomes needs_reauth and the agency is emailed a reconnect link; the stored access token
    still serves calls until it expires. Pass: 1 refresh at the kill, generation unchanged; the
    later call succeeds; the rotation reports the reconnect (1 reuse seen by GHL); the
    installation is needs_reauth; nothing else refreshed."""
    figures = _kill_at(stage, "after_answer")
    expected = {"refreshes_at_kill": 1, "generation_at_kill": 0, "refreshes_total": 1,
                "refresh_token_reuse": 1, "call": "ok", "status": "needs_reauth",
                "generation_total": 0}  # fmt: skip
    passed_rotate = figures["rotate"].startswith("GhlNotConnected")
    outcome = _outcome(
        figures,
        expected,
        "1 refresh at the kill, pair lost; later: call ok "
        "(old access token), rotation → invalid_grant → needs_reauth + link",
    )
    outcome.passed = outcome.passed and passed_rotate
    return outcome


def drill_refresh_kill_after_commit(stage: Stage) -> Outcome:
    """Method: as above, SIGKILLed right after the rotated pair was committed. Pass: 1 refresh
    at the kill and the generation moved by 1; the later call succeeds with the stored pair
    without refreshing; the forced rotation spends the new refresh token (2 refreshes in all,
    0 reuse); the installation stays healthy."""
    figures = _kill_at(stage, "after_commit")
    expected = {"refreshes_at_kill": 1, "generation_at_kill": 1, "refreshes_total": 2,
                "refresh_token_reuse": 0, "call": "ok", "rotate": "ok", "call_after": "ok",
                "status": "healthy", "generation_total": 2}  # fmt: skip
    return _outcome(
        figures,
        expected,
        "1 refresh committed at the kill; later: call ok, "
        "rotation ok (2 in all, no reuse), call ok, healthy",
    )
