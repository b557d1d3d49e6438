"""A location's backfill under attack: its worker SIGKILLed mid-run, or the app uninstalled
mid-run (GHL revokes the tokens and sends UNINSTALL)."""

from __future__ import annotations

import signal
import time

import httpx

from drills.harness import Outcome, Stage, say, wait_until
from drills.platform import APP_ID, DUBAI, WEBHOOK_PATH, Platform, platform
from drills.topology import celery_worker

CONTACTS = 3000  # seeded on top of the demo location's 300
LATENCY_MS = 40  # every GHL call: a backfill of ~35 pages lasts a few seconds, not a blink
# The uninstall must land while pages are still to be read: ~14 pages of contacts at this
# latency leave several seconds after the first 1,000 rows.
UNINSTALL_LATENCY_MS = 600
KILL_AT = 1000  # mirrored contacts when the worker is killed (or the app uninstalled)
OTHER_QUEUES = "interactive,default,webhooks,maintenance"


def _seed(p: Platform, latency_ms: int = LATENCY_MS) -> set[str]:
    """The location's contacts, and the latency of every call to it from now on; returns the
    stand-in's contact ids (read before the latency, and before any uninstall revokes access)."""
    p.ghl.seed(DUBAI, seed=11, contacts=CONTACTS)
    ids = p.standin_contact_ids(DUBAI)
    p.ghl.set_faults(DUBAI, latency={"kind": "fixed", "ms": latency_ms})
    return ids


def _wait_mirrored(p: Platform, at_least: int) -> int:
    location = {}

    def enough() -> bool:
        if "pk" not in location:
            found = p.one("SELECT id FROM tenants_location WHERE ghl_location_id = %s", DUBAI)
            if found is None:
                return False
            location["pk"] = int(found)
        return p.mirrored(location["pk"])[0] >= at_least

    wait_until(enough, f"{at_least} contacts mirrored", timeout=120, step=0.02)
    return location["pk"]


def drill_worker_kill_mid_sync(stage: Stage) -> Outcome:
    """Method: the stand-in's Dubai location with 3,300 contacts (and the demo's users,
    pipelines, opportunities, appointments, conversations), 40 ms per GHL call; installed
    through our OAuth callback on gunicorn, which queues the backfill. A Celery worker on the
    `sync` queue (one thread) runs it; at 1,000 mirrored contacts it is SIGKILLed; a new worker
    is started. The task was acknowledged late, so the broker delivers it again (the drill's
    visibility timeout: 10 s) and the run resumes from its cursors. Pass: the run succeeded,
    one backfill run, the mirror holds exactly the stand-in's contact ids, no duplicate rows."""
    with platform(stage, "workerkill") as p:
        expected = _seed(p)
        with celery_worker(p.env, stage.log("workerkill-other"), queues=OTHER_QUEUES):
            with celery_worker(
                p.env, stage.log("workerkill-sync-1"), queues="sync", concurrency=1,
                name="sync1", expect_alive=False,
            ) as victim:  # fmt: skip
                p.install(DUBAI)
                location = _wait_mirrored(p, KILL_AT)
                victim.send_signal(signal.SIGKILL)
                victim.wait()
            at_kill = p.mirrored(location)[0]
            killed_run = p.runs(location)[-1]
            say(f"  SIGKILL at {at_kill} contacts; run {killed_run['status']}")
            started = time.monotonic()
            with celery_worker(
                p.env, stage.log("workerkill-sync-2"), queues="sync", concurrency=1, name="sync2"
            ):
                wait_until(
                    lambda: p.runs(location)[-1]["status"] not in ("queued", "running"),
                    "the run to finish",
                    timeout=180,
                )
            resumed_after = time.monotonic() - started
        runs = p.runs(location)
        rows, distinct = p.mirrored(location)
        stored = p.mirror_ids(location)
    backfills = [r for r in runs if r["kind"] == "backfill"]
    lost, extra = len(expected - stored), len(stored - expected)
    figures = {
        "killed_at_rows": at_kill,
        "run_status_at_kill": killed_run["status"],
        "backfill_runs": len(backfills),
        "status": backfills[-1]["status"],
        "ghl_contacts": len(expected),
        "mirror_rows": rows,
        "lost": lost,
        "unknown": extra,
        "duplicates": rows - distinct,
        "finished_after_s": round(resumed_after, 1),
        "run_requests": backfills[-1]["requests"],
    }
    return Outcome(
        expected="after the SIGKILL and a new worker: 1 backfill run, succeeded; mirror rows "
        "== stand-in contacts; 0 lost, 0 duplicates",
        happened=(
            f"killed at {at_kill} rows; {len(backfills)} backfill run, {backfills[-1]['status']} "
            f"{resumed_after:.0f} s after the new worker started; {rows} rows for "
            f"{len(expected)} contacts, {lost} lost, {rows - distinct} duplicates"
        ),
        passed=(
            len(backfills) == 1
            and backfills[-1]["status"] == "succeeded"
            and stored == expected
            and rows == distinct == len(expected)
        ),
        figures=figures,
    )


def _uninstall_at_ghl(p: Platform) -> None:
    """The agency removes the app in GHL: GHL revokes the location's tokens and sends the
    UNINSTALL webhook (the stand-in does both, as GHL does)."""
    token = p.ghl.mint_token(location_id=DUBAI)["access_token"]
    answer = httpx.request(
        "DELETE",
        f"{p.ghl.base_url}/marketplace/app/{APP_ID}/installations",
        headers=p.ghl.api_headers(token, "/marketplace/"),
        json={"locationId": DUBAI},
        timeout=30,
    )
    answer.raise_for_status()


def drill_uninstall_mid_sync(stage: Stage) -> Outcome:
    """Method: as the worker drill (3,300 contacts, but 600 ms per call, backfill on a `sync`
    worker), with the stand-in's webhooks pointed at our gunicorn and a worker on the webhooks
    queue. At 1,000 mirrored contacts the app is uninstalled in the stand-in, which revokes the
    tokens and sends UNINSTALL. Pass: the UNINSTALL is processed; the run ends cancelled (not
    succeeded, not still running); no token row is left; after the uninstall was processed the
    stand-in sees no further call for the location (counted until 5 s after the run stopped); the
    mirror holds no duplicate and nothing the stand-in does not know."""
    with platform(stage, "uninstall") as p:
        ghl_ids = _seed(p, UNINSTALL_LATENCY_MS)
        p.ghl.set_webhook_url(f"{p.base}{WEBHOOK_PATH}".replace("127.0.0.1", "localhost"))
        with (
            celery_worker(p.env, stage.log("uninstall-other"), queues=OTHER_QUEUES),
            celery_worker(p.env, stage.log("uninstall-sync"), queues="sync", concurrency=1),
        ):
            p.install(DUBAI)
            location = _wait_mirrored(p, KILL_AT)
            at_uninstall = p.mirrored(location)[0]
            _uninstall_at_ghl(p)
            uninstalled = time.monotonic()
            wait_until(
                lambda: p.one(
                    "SELECT count(*) FROM integrations_ghlinstallation"
                    " WHERE ghl_location_id = %s AND status = 'uninstalled'",
                    DUBAI,
                ) == 1,
                "the UNINSTALL to be processed",
                timeout=60,
            )  # fmt: skip
            processed_s = time.monotonic() - uninstalled
            mark = p.ghl.counters(DUBAI)["requests"]
            wait_until(
                lambda: p.runs(location)[-1]["status"] not in ("queued", "running"),
                "the run to stop",
                timeout=60,
            )
            time.sleep(5)
            after = p.ghl.counters(DUBAI)["requests"] - mark
        run = p.runs(location)[-1]
        tokens = p.one(
            "SELECT count(*) FROM integrations_ghltoken t JOIN integrations_ghlinstallation i"
            " ON i.id = t.installation_id WHERE i.ghl_location_id = %s",
            DUBAI,
        )
        rows, distinct = p.mirrored(location)
        stored = p.mirror_ids(location)
    unknown = len(stored - ghl_ids)
    figures = {
        "rows_at_uninstall": at_uninstall,
        "uninstall_processed_s": round(processed_s, 2),
        "run_status": run["status"],
        "mirror_rows": rows,
        "duplicates": rows - distinct,
        "unknown": unknown,
        "tokens_left": tokens,
        "ghl_calls_after_uninstall": after,
    }
    return Outcome(
        expected="run cancelled, 0 tokens left, no GHL calls for the location after the "
        "uninstall, the mirror stopped short with no duplicate or unknown row",
        happened=(
            f"UNINSTALL at {at_uninstall} contacts, processed in {processed_s:.1f} s; run "
            f"{run['status']}; {tokens} token rows left; "
            f"{after} GHL calls for the location after the uninstall; mirror {rows} rows "
            f"({rows - distinct} duplicates, {unknown} unknown)"
        ),
        passed=(
            run["status"] == "cancelled"
            and tokens == 0
            and after == 0
            and rows == distinct
            and rows < len(ghl_ids)  # it stopped before the end
            and unknown == 0
        ),
        figures=figures,
    )
