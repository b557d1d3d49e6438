"""tools/readyz_probe.py, the image's HEALTHCHECK, run as the container runs it against a server
that answers like /readyz: healthy only on a 200 given to a platform host on gunicorn's port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

PROBE = Path(__file__).resolve().parent.parent / "tools" / "readyz_probe.py"


class _Readyz(BaseHTTPRequestHandler):
    status = 200
    seen: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers["Host"]))
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def readyz() -> Iterator[tuple[int, type[_Readyz]]]:
    handler = type("Handler", (_Readyz,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], handler
    server.shutdown()
    server.server_close()


def _probe(**environ: str) -> int:
    env = {k: v for k, v in os.environ.items() if k not in ("WEB_BIND", "PLATFORM_HOSTS")}
    return subprocess.run([sys.executable, PROBE], env=env | environ, timeout=10).returncode


def test_healthy_on_200_as_the_first_platform_host(readyz: tuple[int, type[_Readyz]]) -> None:
    port, handler = readyz
    assert _probe(WEB_BIND=f"0.0.0.0:{port}", PLATFORM_HOSTS="app.example.com,localhost") == 0
    assert handler.seen == [("/readyz", "app.example.com")]


def test_unhealthy_when_not_ready(readyz: tuple[int, type[_Readyz]]) -> None:
    port, handler = readyz
    handler.status = 503
    assert _probe(WEB_BIND=f"[::]:{port}") == 1
    assert handler.seen == [("/readyz", "localhost")]


def test_unhealthy_when_nothing_listens() -> None:
    with socket.socket() as held:  # bound but never listening: connections are refused
        held.bind(("127.0.0.1", 0))
        assert _probe(WEB_BIND=f"0.0.0.0:{held.getsockname()[1]}") == 1


def test_the_image_runs_this_probe() -> None:
    dockerfile = (PROBE.parent.parent / "Dockerfile").read_text()
    assert (
        'HEALTHCHECK --interval=15s --timeout=3s CMD ["python", "tools/readyz_probe.py"]'
        in dockerfile
    )
