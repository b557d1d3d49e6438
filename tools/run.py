"""`make run`: the whole platform in one terminal — the GHL and Stripe stand-ins, web, worker and
beat — with each process's output prefixed by its name. Ctrl-C stops them all.

Run after migrations and `seed_demo` (the Makefile does both)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
WEB_PORT = int(os.environ.get("WEB_PORT", "8000"))
GHL_PORT = int(os.environ.get("GHL_STANDIN_PORT", "8010"))
STRIPE_PORT = int(os.environ.get("STRIPE_STANDIN_PORT", "8020"))
QUEUES = "interactive,webhooks,sync,default,maintenance,webhooks_out"


def processes() -> dict[str, list[str]]:
    celery = [PYTHON, "-m", "celery", "-A", "saas_platform"]
    procs = {
        "ghl": [
            PYTHON, "-m", "sandbox.ghl",
            "--host", "127.0.0.1", "--port", str(GHL_PORT),
            "--scenario", "demo", "--keys-dir", str(ROOT / ".run" / "ghl"),
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
    return procs


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
            "Logins are in the README (password: demo-password). Ctrl-C stops everything.",
            "",
        ]
    )


def main() -> int:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
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
