"""The per-key rate limit holds under real concurrency: many threads, one Redis, one answer."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connections

from saas_platform.kernel.api.throttle import rate_take
from tests.conftest import World


@pytest.mark.concurrency
def test_the_window_admits_exactly_the_limit_across_threads() -> None:
    bucket = f"test:{uuid.uuid4().hex}"
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(lambda _: rate_take(bucket=bucket, limit=100)[0], range(300)))
    assert results.count(True) == 100


def test_an_emptied_window_admits_again() -> None:
    bucket = f"test:{uuid.uuid4().hex}"
    assert rate_take(bucket=bucket, limit=1, window_ms=50)[0]
    admitted, state = rate_take(bucket=bucket, limit=1, window_ms=50)
    assert not admitted and state.reset_seconds == 1
    import time

    time.sleep(0.06)
    assert rate_take(bucket=bucket, limit=1, window_ms=50)[0]


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_300_concurrent_requests_on_a_100_per_minute_key(
    world: World, make_key: Any, api: Any
) -> None:
    key = make_key(world.a.agency, rate_limit_per_minute=100)

    def call(_: int) -> tuple[int, str | None]:
        try:
            response = api(key).get("/api/v1/locations/", {"fields": "id"})
            return response.status_code, response.get("Retry-After")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(call, range(300)))
    statuses = [status for status, _ in results]
    assert statuses.count(200) == 100, statuses.count(200)
    assert statuses.count(429) == 200
    assert all(retry and 1 <= int(retry) <= 60 for status, retry in results if status == 429)
