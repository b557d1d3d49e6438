"""A stand-in run as a child process, shared by the GHL and Stripe stand-ins' `testing` modules:
started on a free loopback port, ready once its `/_sandbox/health` answers, stopped (killed if it
will not stop) with its log kept for the error message."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class StandInProcess:
    """Mixed in after a stand-in's control client (which provides `http` and `close()`); the
    subclass sets `args` (its argv) before `start()`."""

    name = "stand-in"
    http: httpx.Client
    args: list[str]

    def _process_init(self, *, prefix: str, startup_timeout: float) -> Path:
        """Make the work folder (returned) and the log path; call from `__init__`."""
        self._workdir = tempfile.TemporaryDirectory(prefix=prefix)
        self.log_path = Path(self._workdir.name) / "standin.log"
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        return Path(self._workdir.name)

    def close(self) -> None:
        raise NotImplementedError  # the control client's, first in the subclass's bases

    def start(self) -> Self:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 (our own argv)
            self.args, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if self.http.get("/_sandbox/health", timeout=1).status_code == 200:
                    return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not become healthy:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
        self.close()
        self._workdir.cleanup()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
