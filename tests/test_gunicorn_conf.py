"""The production web server as deployed: gunicorn with saas_platform/gunicorn_conf.py and
production settings, two workers sharing their metrics through PROMETHEUS_MULTIPROC_DIR."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import World

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "scrape-token-for-tests"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _test_database_url() -> str:
    """The test run's own database (pytest-django renamed it), for the server process."""
    from django.db import connection

    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgresql://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def server(tmp_path: Path, transactional_db: None) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "saas_platform.settings.production",
        "SECRET_KEY": "gunicorn-test-only-secret-key-" + "x" * 40,
        "TOKEN_ENCRYPTION_KEYS": "dGVzdC1rZXktMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA=",
        "WEB_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": _test_database_url(),
    }
    log = (tmp_path / "gunicorn.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:saas_platform.gunicorn_conf",
         "saas_platform.wsgi"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/healthz", headers={"Host": "localhost"}, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError((tmp_path / "gunicorn.log").read_text()) from None
                time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


@pytest.mark.django_db(transaction=True)
def test_ready_and_metrics_add_up_across_workers(server: str) -> None:
    host = {"Host": "localhost"}
    with httpx.Client(base_url=server, headers=host, timeout=5) as client:
        # As the load balancer forwards an https request (HSTS is only sent over https).
        ready = client.get("/readyz", headers={"X-Forwarded-Proto": "https"})
        assert ready.status_code == 200, ready.text
        # Fresh connections: the requests spread over both workers.
        for _ in range(20):
            assert httpx.get(f"{server}/healthz", headers=host).status_code == 200
        scrape = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert scrape.status_code == 200
    line = next(
        row
        for row in scrape.text.splitlines()
        if row.startswith("http_requests_total{") and 'route="healthz"' in row
    )
    assert float(line.rsplit(" ", 1)[1]) >= 20  # every worker's samples, summed
    assert ready.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "X-Request-ID" in ready.headers


def _assert_hardened(response: httpx.Response) -> None:
    headers = response.headers
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    policy = headers["Content-Security-Policy"]
    scripts = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    assert "frame-ancestors" in policy and "object-src 'none'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    for cookie in response.headers.get_list("set-cookie"):
        assert "Secure" in cookie, cookie


def test_production_responses_are_hardened(server: str, world: World) -> None:
    """Portal, agency admin and staff admin pages under the production settings, as the load
    balancer forwards an https request."""
    https = {"X-Forwarded-Proto": "https"}
    pages = [
        (world.a.domain, "/accounts/login/"),
        (world.a.domain, "/admin/login/"),
        ("localhost", "/admin/login/"),
    ]
    for host, path in pages:
        page = httpx.get(f"{server}{path}", headers={"Host": host, **https})
        assert page.status_code == 200, (host, path, page.status_code)
        _assert_hardened(page)
        assert any("csrftoken" in c for c in page.headers.get_list("set-cookie"))
    # Plain http is sent to https before anything else happens.
    insecure = httpx.get(f"{server}/accounts/login/", headers={"Host": world.a.domain})
    assert insecure.status_code == 301
    assert insecure.headers["Location"] == f"https://{world.a.domain}/accounts/login/"
