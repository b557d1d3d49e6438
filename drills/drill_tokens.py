"""A token refresh SIGKILLed at three points. GHL refresh tokens are single use: the pair GHL
hands back must be stored, or the installation can no longer refresh."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from drills.harness import Outcome, Stage, wait_until
from drills.platform import DUBAI, Platform, platform
from drills.topology import ROOT, celery_worker

COMPANY = "DemoCompanyApex00001"  # Dubai's agency in the stand-in's demo


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


def _install_under_agency(p: Platform, stage: Stage) -> None:
    """The agency connects the app for its company with Dubai approved; a worker mints the
    location's token from the agency's (`ghl_company_locations_sync`)."""
    code = p.ghl.install(companyId=COMPANY, approvedLocations=[DUBAI], emitInstall=False)["code"]
    with celery_worker(p.env, stage.log("refresh-agency-worker"), queues="default,interactive"):
        answer = httpx.get(
            f"{p.base}/integrations/ghl/oauth/callback",
            params={"code": code},
            headers={"Host": "localhost"},
            timeout=30,
        )
        assert answer.status_code == 302, answer.status_code
        wait_until(
            lambda: p.one(
                "SELECT count(*) FROM integrations_ghltoken t JOIN integrations_ghlinstallation i"
                " ON i.id = t.installation_id WHERE i.ghl_location_id = %s",
                DUBAI,
            ) == 1,
            "the location's token minted from the agency's",
            timeout=60,
        )  # fmt: skip


def _kill_at(stage: Stage, point: str, *, agency: bool = False) -> dict[str, Any]:
    """Install (the location alone, or through its agency), SIGKILL a refresh at `point`, then
    run what a later task does; the figures."""
    name = f"refresh_{point}{'_agency' if agency else ''}"
    with platform(stage, name) as p:
        if agency:
            _install_under_agency(p, stage)
        else:
            p.install(DUBAI)
        pk = _installation(p)
        before = p.ghl.counters(DUBAI)
        generation = _token_state(p, pk)["generation"]
        marker = stage.tmp / f"{name}.marker"  # one per drill: a stale one would kill at once
        marker.unlink(missing_ok=True)
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
        "reminted": after["location_tokens"] - before["location_tokens"],
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
            f"{figures['refreshes_total']} in all, {figures['refresh_token_reuse']} reuse, "
            f"{figures['reminted']} re-minted; "
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


def drill_refresh_kill_after_answer_agency(stage: Stage) -> Outcome:
    """Method: as `refresh_kill_after_answer`, but the location was connected through its
    agency (a company install with Dubai approved; the location's token minted from the
    agency's). The design: when GHL refuses the spent refresh token, a location under a
    connected agency gets a new token minted from the agency token — nothing is lost. Pass: 1
    refresh at the kill, 1 reuse seen by GHL, 1 location token minted afterwards; the later
    call, the rotation and the call after it all succeed; the installation stays healthy."""
    figures = _kill_at(stage, "after_answer", agency=True)
    expected = {"refreshes_at_kill": 1, "generation_at_kill": 0, "refreshes_total": 1,
                "refresh_token_reuse": 1, "reminted": 1, "call": "ok", "rotate": "ok",
                "call_after": "ok", "status": "healthy", "generation_total": 1}  # fmt: skip
    return _outcome(
        figures,
        expected,
        "1 refresh at the kill, pair lost; later: call ok, "
        "rotation → invalid_grant → re-minted from the agency token, healthy",
    )
