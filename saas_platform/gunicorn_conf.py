"""gunicorn settings for production: ``gunicorn -c python:saas_platform.gunicorn_conf
saas_platform.wsgi``. Threads keep a worker busy while a view waits on GHL or the database;
``preload_app`` imports Django once before forking; workers are recycled with jitter so a slow leak
never takes every worker down together."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

bind = os.environ.get("WEB_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", str(min(2 * (os.cpu_count() or 1) + 1, 8))))
threads = int(os.environ.get("WEB_THREADS", "2"))
worker_class = "gthread"
preload_app = True
keepalive = 30  # behind a load balancer that reuses connections (its idle timeout is longer)
timeout = 30
graceful_timeout = 30
max_requests = 5000
max_requests_jitter = 500
# Only the load balancer may tell us the scheme and client address.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Django logs each request as JSON with its tenant and request id (kernel.requestlog).
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


def on_starting(server: Any) -> None:
    """Samples of a previous run would be added to this one's."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
