"""`make run`: the whole platform in one terminal — the GHL and Stripe stand-ins, web, worker and
beat — with each process's output prefixed by its name. Ctrl-C stops them all.

Run after migrations and `seed_demo` (the Makefile does both). `DEMO_TRAFFIC=1` (or a number of
seconds) turns on the live demo: the GHL stand-in makes leads, messages, appointments and stage
moves every few seconds, the demo agencies are connected to it, `manage.py demo_live` gives
their locations routing rules, and a small receiver (`tools/webhook_sink.py`) shows the
outbound webhooks (docs/development.md, "Watch it live")."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
WEB_PORT = int(os.environ.get("WEB_PORT", "8000"))
GHL_PORT = int(os.environ.get("GHL_STANDIN_PORT", "8010"))
STRIPE_PORT = int(os.environ.get("STRIPE_STANDIN_PORT", "8020"))
SINK_PORT = int(os.environ.get("WEBHOOK_SINK_PORT", "8030"))
QUEUES = "interactive,webhooks,sync,default,maintenance,webhooks_out"
DEMO_SCENARIO = ROOT / "sandbox" / "ghl" / "scenarios" / "demo.json"


def demo_traffic() -> float | None:
    """Seconds between demo traffic rounds from DEMO_TRAFFIC ("1"/"yes": 5 s), None when off."""
    value = os.environ.get("DEMO_TRAFFIC", "").strip().lower()
    if value in ("", "0", "no", "false", "off"):
        return None
    if value in ("1", "yes", "true", "on"):
        return 5.0
    return max(1.0, float(value))


def sink_url() -> str:
    return f"http://127.0.0.1:{SINK_PORT}/hooks"


def processes() -> dict[str, list[str]]:
    celery = [PYTHON, "-m", "celery", "-A", "saas_platform"]
    procs = {
        "ghl": [
            PYTHON, "-m", "sandbox.ghl",
            "--host", "127.0.0.1", "--port", str(GHL_PORT),
            "--scenario", "demo", "--keys-dir", str(ROOT / ".run" / "ghl"),
            "--webhook-url", f"http://localhost:{WEB_PORT}/integrations/ghl/webhooks",
        ],
        "stripe": [
            PYTHON, "-m", "sandbox.stripe",
            "--host", "127.0.0.1", "--port", str(STRIPE_PORT),
        ],
        "web": [PYTHON, "manage.py", "runserver", f"0.0.0.0:{WEB_PORT}"],
        "worker": [*celery, "worker", "-Q", QUEUES, "-l", "info", "--concurrency", "2"],
        "beat": [*celery, "beat", "-l", "info", "--pidfile", ""],
    }  # fmt: skip
    if not (ROOT / "sandbox" / "ghl" / "__main__.py").exists():
        del procs["ghl"]
    if not (ROOT / "sandbox" / "stripe" / "__main__.py").exists():
        del procs["stripe"]
    seconds = demo_traffic()
    if seconds is not None and "ghl" in procs:
        procs["ghl"].append(f"--demo-traffic={seconds:g}")
        procs["sink"] = [PYTHON, "-m", "tools.webhook_sink", "--port", str(SINK_PORT)]
    return procs


def environment() -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if demo_traffic() is not None:
        # The SSRF guard refuses loopback; the demo's receiver is the one private target allowed.
        allowed = [t for t in env.get("CONNECTOR_ALLOWED_PRIVATE_TARGETS", "").split(",") if t]
        env["CONNECTOR_ALLOWED_PRIVATE_TARGETS"] = ",".join([*allowed, f"127.0.0.1/32:{SINK_PORT}"])
    return env


def _wait_for(url: str, headers: dict[str, str], deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, headers=headers, timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise TimeoutError(f"{url} did not answer")


def demo_connect(env: dict[str, str], helpers: list[subprocess.Popen[bytes]]) -> None:
    """Install the app on the demo agencies (all their locations), as GHL's Marketplace does —
    the stand-in issues a code, our OAuth callback takes it — then prepare routing and the
    outbound endpoint. Every start reinstalls: the stand-in forgets its tokens when it stops."""
    ghl, web = f"http://127.0.0.1:{GHL_PORT}", f"http://127.0.0.1:{WEB_PORT}"
    host = {"Host": f"localhost:{WEB_PORT}"}
    deadline = time.monotonic() + 120
    try:
        _wait_for(f"{ghl}/_sandbox/health", {}, deadline)
        _wait_for(f"{web}/healthz", host, deadline)
        companies = [c["id"] for c in json.loads(DEMO_SCENARIO.read_text())["companies"]]
        for company in companies:
            body = {"companyId": company, "approveAll": True}
            code = httpx.post(f"{ghl}/_sandbox/install", json=body, timeout=30).json()["code"]
            answer = httpx.get(
                f"{web}/integrations/ghl/oauth/callback",
                params={"code": code},
                headers=host,
                timeout=60,
                trust_env=False,
            )
            print(f"{'demo':>6} | {company} connected: HTTP {answer.status_code}", flush=True)
    except (httpx.HTTPError, TimeoutError, KeyError, ValueError) as exc:
        print(f"{'demo':>6} | could not connect the demo agencies: {exc}", flush=True)
        return
    prepare = [PYTHON, "manage.py", "demo_live", "--sink", sink_url(), "--wait", "180"]
    quiet = {**env, "LOG_LEVEL": "WARNING"}  # its summary lines, not every audit row
    helper = subprocess.Popen(
        prepare, cwd=ROOT, env=quiet, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    helpers.append(helper)  # stopped with the rest if it is still waiting
    _pump("demo", helper)


def _pump(name: str, stream: subprocess.Popen[bytes]) -> None:
    if stream.stdout is None:
        return
    for raw in iter(stream.stdout.readline, b""):
        sys.stdout.write(f"{name:>6} | {raw.decode(errors='replace')}")
        sys.stdout.flush()


def banner() -> str:
    port = f":{WEB_PORT}"
    return "\n".join(
        [
            "",
            "The platform is starting. Open:",
            f"  Apex Growth portal      http://apex.localhost{port}/",
            f"  Apex Growth agency admin http://apex.localhost{port}/admin/",
            f"  Bolt Local portal       http://bolt.localhost{port}/",
            f"  Staff admin             http://localhost{port}/admin/",
            f"  GHL stand-in            http://127.0.0.1:{GHL_PORT}/_sandbox/",
            f"  Stripe stand-in         http://127.0.0.1:{STRIPE_PORT}/_sandbox/clock",
            *(
                [
                    f"  Demo traffic            http://127.0.0.1:{GHL_PORT}/_sandbox/traffic",
                    f"  Outbound webhooks       http://127.0.0.1:{SINK_PORT}/",
                ]
                if demo_traffic() is not None
                else []
            ),
            "Logins are in the README (password: demo-password). Ctrl-C stops everything.",
            "",
        ]
    )


def main() -> int:
    env = environment()
    running: dict[str, subprocess.Popen[bytes]] = {}
    for name, command in processes().items():
        running[name] = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        threading.Thread(target=_pump, args=(name, running[name]), daemon=True).start()
    print(banner(), flush=True)
    helpers: list[subprocess.Popen[bytes]] = []
    if demo_traffic() is not None:
        threading.Thread(target=demo_connect, args=(env, helpers), daemon=True).start()
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, proc in running.items():
            if proc.poll() is not None:
                print(f"{name} exited with {proc.returncode}; stopping the rest.", flush=True)
                exit_code = proc.returncode or 1
                stopping = True
        time.sleep(0.3)
    for helper in helpers:
        if helper.poll() is None:
            helper.terminate()
    for proc in running.values():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in running.values():
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
