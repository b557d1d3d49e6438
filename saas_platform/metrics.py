"""``/metrics`` in Prometheus' text format, on the platform's hosts only and behind a bearer
token (``METRICS_TOKEN``; without one the page does not exist).

Besides each process's own request latency (``saas_platform.kernel.metrics``), a scrape reads the
shared state every machine agrees on: Celery queue depth (Redis), webhook lag (the inbox's oldest
pending event), and GHL calls and 429s per location over the last five minutes (the call log).
Read at scrape time, these need no counters kept in sync across processes."""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator
from datetime import timedelta

import redis
from django.conf import settings
from django.db.models import Count, Min, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

from integrations.ghl.models import GhlCallLog
from integrations.inbox.models import InboundEvent
from saas_platform.schedule import QUEUES

GHL_WINDOW = timedelta(minutes=5)
# Kombu's Redis transport keeps one list per queue and priority step.
PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


class SharedStateCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        yield self._queue_depth()
        yield from self._webhook_lag()
        yield from self._ghl_calls()

    def _queue_depth(self) -> Metric:
        depth = GaugeMetricFamily(
            "celery_queue_depth", "Messages waiting in each Celery queue.", labels=["queue"]
        )
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2)
        try:
            pipe = client.pipeline(transaction=False)
            for queue in QUEUES:
                for suffix in PRIORITY_SUFFIXES:
                    pipe.llen(queue + suffix)
            lengths = pipe.execute()
        finally:
            client.close()
        steps = len(PRIORITY_SUFFIXES)
        for index, queue in enumerate(QUEUES):
            depth.add_metric([queue], sum(lengths[index * steps : (index + 1) * steps]))
        return depth

    def _webhook_lag(self) -> Iterator[Metric]:
        waiting = InboundEvent.objects.filter(
            status__in=[InboundEvent.Status.PENDING, InboundEvent.Status.FAILED]
        ).aggregate(count=Count("id"), oldest=Min("received_at"))
        lag = (timezone.now() - waiting["oldest"]).total_seconds() if waiting["oldest"] else 0.0
        yield GaugeMetricFamily(
            "webhook_inbox_lag_seconds", "Age of the oldest unprocessed inbound event.", value=lag
        )
        yield GaugeMetricFamily(
            "webhook_inbox_waiting", "Inbound events waiting to be processed.",
            value=waiting["count"],
        )  # fmt: skip

    def _ghl_calls(self) -> Iterator[Metric]:
        calls = GaugeMetricFamily(
            "ghl_calls_recent",
            "GHL API calls in the last five minutes, by location.",
            labels=["location_id"],
        )
        limited = GaugeMetricFamily(
            "ghl_429_recent",
            "GHL answers 429 in the last five minutes, by location.",
            labels=["location_id"],
        )
        rows = (
            GhlCallLog.objects.unscoped()
            .filter(created_at__gte=timezone.now() - GHL_WINDOW)
            .values("location_id")
            .annotate(total=Count("id"), limited=Count("id", filter=Q(status=429)))
        )
        for row in rows:
            label = str(row["location_id"] or "agency")
            calls.add_metric([label], row["total"])
            limited.add_metric([label], row["limited"])
        yield calls
        yield limited


def _exposition() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        own = CollectorRegistry()
        MultiProcessCollector(own)  # type: ignore[no-untyped-call]  # every gunicorn worker's samples, added up
    else:
        own = REGISTRY  # this process's own metrics
    shared = CollectorRegistry()
    shared.register(SharedStateCollector())
    return generate_latest(own) + generate_latest(shared)


def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not token:
        raise Http404
    if not hmac.compare_digest(offered.encode(), token.encode()):
        return HttpResponse(status=401, headers={"WWW-Authenticate": "Bearer"})
    return HttpResponse(_exposition(), content_type=CONTENT_TYPE_LATEST)
