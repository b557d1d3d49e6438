"""Production operations: readiness, request ids and log context, metrics, security headers,
error-report scrubbing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import redis
import structlog
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone
from structlog.testing import capture_logs

from saas_platform import health
from saas_platform.celery import _log_context_bound
from saas_platform.kernel.errors_reporting import scrub
from tests.conftest import World
from tests.factories import GhlCallLogFactory, InboundEventFactory

TOKEN = "scrape-token-for-tests"


def platform() -> Client:
    return Client(HTTP_HOST="localhost")


@pytest.mark.django_db
def test_ready_when_every_engine_answers() -> None:
    page = platform().get("/readyz")
    assert page.status_code == 200
    body = page.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "redis", "broker", "migrations"}
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.django_db
def test_not_ready_is_a_503_naming_the_failing_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):  # nothing listens on port 1
        page = platform().get("/readyz")
    assert page.status_code == 503
    checks = page.json()["checks"]
    assert checks["redis"] == {"ok": False, "error": "ConnectionError", "ms": checks["redis"]["ms"]}
    assert checks["database"]["ok"] is True


@pytest.mark.django_db
def test_unapplied_migrations_make_the_process_not_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "_migrations_applied", False)
    health.check_migrations()
    assert health._migrations_applied is True
    monkeypatch.setattr(health, "_migrations_applied", False)
    from django.db.migrations.executor import MigrationExecutor

    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: ["0099_new"])
    with pytest.raises(RuntimeError, match="1 migration"):
        health.check_migrations()


@pytest.mark.django_db
def test_every_response_carries_a_request_id_and_a_forwarded_one_is_kept_only_if_plain(
    world: World,
) -> None:
    generated = platform().get("/healthz")["X-Request-ID"]
    assert len(generated) == 32
    assert platform().get("/healthz", HTTP_X_REQUEST_ID="lb-1234abcd")["X-Request-ID"] == (
        "lb-1234abcd"
    )
    hostile = platform().get("/healthz", HTTP_X_REQUEST_ID="x\r\nSet-Cookie: a=b")
    assert hostile["X-Request-ID"] != "x\r\nSet-Cookie: a=b" and len(hostile["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_the_request_log_line_names_the_route_tenant_user_and_request(world: World) -> None:
    client = Client(HTTP_HOST=world.a.domain)
    client.force_login(world.a.owner)
    with capture_logs() as logs:
        response = client.get(f"/app/l/{world.a.locations[0].pk}/")
    line = next(entry for entry in logs if entry["event"] == "http.request")
    assert line["route"] == "app/l/<int:location_id>/"  # the pattern, never the id
    assert line["status"] == response.status_code
    assert line["method"] == "GET" and line["duration_ms"] >= 0
    assert structlog.contextvars.get_contextvars() == {}  # nothing leaks to the next request


@pytest.mark.django_db
def test_log_context_inside_a_view_carries_tenant_and_user(world: World) -> None:
    from tenants import views

    seen: dict[str, Any] = {}
    original = views.render

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.update(structlog.contextvars.get_contextvars())
        return original(*args, **kwargs)

    client = Client(HTTP_HOST=world.a.domain)
    client.force_login(world.a.owner)
    views.render = spy  # type: ignore[assignment]
    try:
        client.get("/app/")
    finally:
        views.render = original  # type: ignore[assignment]
    assert seen["agency_id"] == world.a.agency.pk
    assert seen["user_id"] == world.a.owner.pk
    assert len(seen["request_id"]) == 32


def test_a_task_binds_its_id_name_and_the_object_ids_it_was_given() -> None:
    class FakeTask:
        name = "integrations.sync_run_execute"

        def run(self, run_pk: int, location_id: int, note: str = "") -> None: ...

    _log_context_bound(task_id="t-1", task=FakeTask(), args=(7,), kwargs={"location_id": 3})
    try:
        assert structlog.contextvars.get_contextvars() == {
            "task_id": "t-1",
            "task": "integrations.sync_run_execute",
            "run_pk": 7,
            "location_id": 3,
        }
    finally:
        structlog.contextvars.clear_contextvars()


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN)
def test_metrics_report_queue_depth_webhook_lag_and_ghl_calls_per_location(world: World) -> None:
    location = world.a.locations[0]
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("maintenance")
    broker.rpush("maintenance", b"one", b"two")
    InboundEventFactory(received_at=timezone.now() - timedelta(seconds=90))
    for status in (200, 429, 429):
        GhlCallLogFactory(agency=world.a.agency, location=location, status=status)
    try:
        page = platform().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    finally:
        broker.delete("maintenance")
    text = page.content.decode()
    assert page.status_code == 200
    assert 'celery_queue_depth{queue="maintenance"} 2.0' in text
    lag = next(line for line in text.splitlines() if line.startswith("webhook_inbox_lag_seconds"))
    assert float(lag.split()[1]) >= 90
    assert f'ghl_calls_recent{{location_id="{location.pk}"}} 3.0' in text
    assert f'ghl_429_recent{{location_id="{location.pk}"}} 2.0' in text
    assert "http_request_duration_seconds_bucket" in text


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy_and_refuse_framing(world: World) -> None:
    page = Client(HTTP_HOST=world.a.domain).get("/accounts/login/")
    policy = page["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("style-src")[0]
    assert "frame-ancestors 'self'" in policy and "object-src 'none'" in policy
    assert page["X-Frame-Options"] == "DENY"
    assert page["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert page["X-Content-Type-Options"] == "nosniff"


def test_error_reports_lose_cookies_bodies_auth_headers_and_secret_keys() -> None:
    event = {
        "request": {
            "cookies": {"sessionid": "s"},
            "data": {"password": "p"},
            "headers": {"Authorization": "Bearer k", "Accept": "text/html"},
        },
        "extra": {"refresh_token": "r", "nested": {"client_secret": "c", "ok": 1}},
    }
    cleaned = scrub(event)
    assert "cookies" not in cleaned["request"] and "data" not in cleaned["request"]
    assert cleaned["request"]["headers"] == {"Authorization": "[redacted]", "Accept": "text/html"}
    assert cleaned["extra"] == {"refresh_token": "[redacted]",
                                "nested": {"client_secret": "[redacted]", "ok": 1}}  # fmt: skip
