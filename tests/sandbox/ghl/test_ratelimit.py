"""Rate limits as GHL counts them: per (app, location or company), a strict sliding burst window
and a daily budget, the five headers on every authenticated response, 429 without consuming."""

from __future__ import annotations

import time
from typing import Any

from sandbox.ghl.testing import StandIn
from tests.sandbox.ghl.conftest import APEX, CLINIC, DUBAI, Api

HEADERS = (
    "x-ratelimit-limit-daily",
    "x-ratelimit-daily-remaining",
    "x-ratelimit-interval-milliseconds",
    "x-ratelimit-max",
    "x-ratelimit-remaining",
)


def test_101st_request_in_the_window_is_429_with_the_five_headers(
    dubai: Api, ghl_standin: StandIn
) -> None:
    path = f"/locations/{DUBAI}"
    for n in range(100):
        ok = dubai.get(path)
        assert ok.status_code == 200
        assert int(ok.headers["x-ratelimit-remaining"]) == 99 - n
    limited = dubai.get(path)
    assert limited.status_code == 429
    assert limited.json() == {"statusCode": 429, "message": "Too Many Requests"}
    assert {h: limited.headers[h] for h in HEADERS} == {
        "x-ratelimit-limit-daily": "200000",
        "x-ratelimit-daily-remaining": "199900",
        "x-ratelimit-interval-milliseconds": "10000",
        "x-ratelimit-max": "100",
        "x-ratelimit-remaining": "0",
    }
    # A 429 consumes nothing, and the budget is per location: the clinic is unaffected.
    assert dubai.get(path).headers["x-ratelimit-daily-remaining"] == "199900"
    counters = ghl_standin.counters(DUBAI)
    assert counters["requests"] == 100 and counters["rate_limited"] == 2


def test_budget_is_per_resource_and_errors_carry_headers(api_for: Any) -> None:
    dubai, clinic = api_for(location_id=DUBAI), api_for(location_id=CLINIC)
    agency = api_for(company_id=APEX)
    for _ in range(3):
        dubai.get(f"/locations/{DUBAI}")
    assert clinic.get(f"/locations/{CLINIC}").headers["x-ratelimit-remaining"] == "99"
    assert agency.get(f"/locations/{DUBAI}").headers["x-ratelimit-remaining"] == "99"
    forbidden = dubai.get(f"/locations/{CLINIC}")
    assert forbidden.status_code == 403 and forbidden.headers["x-ratelimit-remaining"] == "96"


def test_window_slides_under_time_compression(ghl_standin: StandIn, dubai: Api) -> None:
    ghl_standin.set_config(time_factor=50.0, rate_limits={"burst_max": 5})
    path = f"/locations/{DUBAI}"
    first = dubai.get(path)
    assert first.headers["x-ratelimit-interval-milliseconds"] == "200"  # 10 s / 50, real ms
    for _ in range(4):
        assert dubai.get(path).status_code == 200
    assert dubai.get(path).status_code == 429
    time.sleep(0.22)
    assert dubai.get(path).status_code == 200


def test_daily_budget_and_its_reset(ghl_standin: StandIn, api_for: Any) -> None:
    # Long-lived token: compressing a day must expire the budget, not the token.
    ghl_standin.set_config(rate_limits={"daily_limit": 3}, access_token_ttl_s=10**9)
    dubai = api_for(location_id=DUBAI)
    path = f"/locations/{DUBAI}"
    remaining = [dubai.get(path).headers["x-ratelimit-daily-remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    over = dubai.get(path)
    assert over.status_code == 429 and over.headers["x-ratelimit-daily-remaining"] == "0"
    # Compress a day into ~0.1 s of real time: the budget comes back after midnight.
    ghl_standin.set_config(time_factor=864_000.0)
    time.sleep(0.15)
    assert dubai.get(path).status_code == 200


def test_unlimited_mode(ghl_standin: StandIn, dubai: Api) -> None:
    ghl_standin.set_config(rate_limits={"unlimited": True, "burst_max": 2})
    statuses = {dubai.get(f"/locations/{DUBAI}").status_code for _ in range(10)}
    assert statuses == {200}
