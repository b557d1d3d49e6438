"""Prometheus metrics of the process: request latency by route. Gauges that describe shared
state (queue depth, webhook lag, GHL calls per location) are read at scrape time by
``saas_platform.metrics``, so every machine reports the same truth.

Under gunicorn with several workers set ``PROMETHEUS_MULTIPROC_DIR`` (docs/deploy.md): each
worker then writes its samples to a file there and a scrape adds them up."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUEST_LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time from the first middleware to the response, by URL pattern.",
    ["method", "route", "status_class"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
REQUESTS = Counter(
    "http_requests_total",
    "Responses sent, by URL pattern and status.",
    ["method", "route", "status"],
)


def observe_request(*, method: str, route: str, status: int, seconds: float) -> None:
    status_class = f"{status // 100}xx"
    REQUEST_LATENCY.labels(method, route, status_class).observe(seconds)
    REQUESTS.labels(method, route, str(status)).inc()
