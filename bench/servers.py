"""Start the platform under gunicorn for a benchmark, the way production runs it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.harness import ROOT, BenchContext

BENCH_SECRET = "bench-only-secret-key-" + "x" * 40
BENCH_FERNET = "YmVuY2gta2V5LTAwMDAwMDAwMDAwMDAwMDAwMDAwMDA="


def production_env(**extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "saas_platform.settings.production",
        "SECRET_KEY": BENCH_SECRET,
        "TOKEN_ENCRYPTION_KEYS": BENCH_FERNET,
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        **extra,
    }
    env.pop("DEBUG", None)
    return env


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


@contextmanager
def gunicorn(
    ctx: BenchContext, *, workers: int = 4, threads: int = 2, env: dict[str, str] | None = None
) -> Iterator[int]:
    port = ctx.free_port()
    log = Path(ctx.tmp) / f"gunicorn-{port}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                ctx.python, "-m", "gunicorn", "saas_platform.wsgi",
                "--bind", f"127.0.0.1:{port}",
                "--workers", str(workers), "--threads", str(threads),
                "--worker-class", "gthread", "--keep-alive", "30",
                # Load the app before forking, as production does: the workers answer from the
                # first request instead of importing Django during the warm-up.
                "--preload",
            ],
            cwd=ROOT,
            env=env or production_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_for_port(port)
            yield port
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
