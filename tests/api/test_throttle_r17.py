"""R17: 1,000 concurrent requests on a key limited to 100 a minute, through the whole request
path (authentication, the Redis window, the view) from 32 threads: at most 100 are served,
every other one is a 429 in the envelope with a usable Retry-After."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connections

from tests.conftest import World

REQUESTS = 1000
LIMIT = 100


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_1000_concurrent_requests_on_a_100_per_minute_key(
    world: World, make_key: Any, api: Any
) -> None:
    key = make_key(world.a.agency, rate_limit_per_minute=LIMIT)

    def call(_: int) -> tuple[int, str | None, str]:
        try:
            response = api(key).get("/api/v1/locations/", {"fields": "id"})
            code = response.json().get("error", {}).get("code", "")
            return response.status_code, response.get("Retry-After"), code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(call, range(REQUESTS)))
    statuses = [status for status, _, _ in results]
    assert statuses.count(200) == LIMIT, statuses.count(200)
    assert statuses.count(429) == REQUESTS - LIMIT
    refused = [(retry, code) for status, retry, code in results if status == 429]
    assert all(code == "throttled" for _, code in refused)
    assert all(retry is not None and 1 <= int(retry) <= 60 for retry, _ in refused)
