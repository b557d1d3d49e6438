"""A batch of GHL calls reports each answer to the governor with the next call's turn (one Redis
round trip per call instead of two): the fused round trip decides exactly as observe then
acquire, a 429 is still reported at once, and the last answer is reported when the batch ends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from django.conf import settings

from integrations.ghl.governor import Priority, RateGovernor
from integrations.ghl.transport import Call, Record, RetryPolicy, SyncDriver, Wiring, execute

RES = "LocGovernorBatch0001"
T0 = 1_700_000_000_000.0
INT = Priority.INTERACTIVE


@pytest.fixture
def governors() -> Iterator[list[RateGovernor]]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    made = [
        RateGovernor(
            client,
            app_id=f"t-{uuid.uuid4().hex}",
            limit=10,
            window_ms=1000,
            safety_ms=0,
            interactive_reserve=0,
        )
        for _ in range(2)
    ]
    yield made
    for gov in made:
        client.delete(*gov.keys(RES))
    client.close()


def headers(remaining: int) -> dict[str, str]:
    return {"X-RateLimit-Remaining": str(remaining), "X-RateLimit-Max": "10"}


def test_an_answer_reported_with_the_next_turn_decides_as_observe_then_acquire(
    governors: list[RateGovernor],
) -> None:
    apart, fused = governors
    first_apart, first_fused = (gov.acquire(RES, INT, now_ms=T0) for gov in governors)
    # GHL counted 4 (someone else sent 3), and answered 300 ms after the grant.
    apart.observe(RES, headers(6), status=200, grant=first_apart, now_ms=T0 + 300)
    turn_apart = apart.acquire(RES, INT, now_ms=T0 + 300)
    observed = fused.observation(RES, headers(6), status=200, grant=first_fused)
    turn_fused = fused.acquire(RES, INT, now_ms=T0 + 300, observed=observed)
    assert turn_fused.granted and turn_apart.granted
    assert turn_fused.window_used == turn_apart.window_used == 5  # 1 + 3 phantoms + this one
    for gov in governors:  # the first grant was restamped to its answer in both
        stats = gov.stats(RES, now_ms=T0 + 1001)
        assert (stats.window_used, stats.phantoms) == (5, 3)


def test_an_answer_of_another_resource_is_reported_on_its_own(
    governors: list[RateGovernor],
) -> None:
    gov = governors[0]
    gov.acquire("LocOther000000000001", INT)
    observed = gov.observation("LocOther000000000001", headers(5), status=200)
    gov.acquire(RES, INT, observed=observed)
    assert gov.stats("LocOther000000000001").phantoms == 4
    assert gov.stats(RES).window_used == 1
    gov.client.delete(*gov.keys("LocOther000000000001"))


def _driver(gov: RateGovernor, answers: list[httpx.Response], sleeps: list[Any]) -> SyncDriver:
    def answer(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    records: list[Record] = []
    wiring = Wiring(
        resource=RES,
        token=lambda *, force, stale: "token",
        governor=gov,
        record=records.append,
        sleep=sleeps.append,
    )
    http = httpx.Client(transport=httpx.MockTransport(answer))
    return SyncDriver(http, wiring, defer_observations=True)


def _call(driver: SyncDriver) -> Any:
    call = Call("GET", f"/locations/{RES}", "2021-07-28")
    steps = execute(call, base_url="https://ghl.test", priority=INT, policy=RetryPolicy())
    return driver.run(steps)


def test_a_batch_reports_its_last_answer_when_it_ends(governors: list[RateGovernor]) -> None:
    gov = governors[0]
    answers = [httpx.Response(200, json={}, headers=headers(10 - n)) for n in (4, 5)]
    driver = _driver(gov, answers, [])
    _call(driver)
    _call(driver)  # the first answer went with this turn: GHL had counted 3 more than us
    assert gov.stats(RES).phantoms == 3
    driver.flush()  # the second answer: GHL counts 5, we count 2 grants and 3 phantoms
    assert gov.stats(RES).window_used == 5
    answers.append(httpx.Response(200, json={}, headers=headers(2)))
    _call(driver)
    driver.flush()
    assert gov.stats(RES).phantoms == 5  # GHL: 8; ours: 3 grants and 3 phantoms, 2 more


def test_a_429_is_reported_before_the_batch_waits(governors: list[RateGovernor]) -> None:
    gov = governors[0]
    throttled = httpx.Response(429, headers={"Retry-After": "1", **headers(0)})
    blocked_while_sleeping: list[float] = []
    sleeps: list[Any] = []
    driver = _driver(gov, [throttled, httpx.Response(200, json={"ok": True})], sleeps)
    driver.w.sleep = lambda seconds: blocked_while_sleeping.append(gov.stats(RES).blocked_ms)
    assert _call(driver) == {"ok": True}
    assert len(blocked_while_sleeping) == 1 and blocked_while_sleeping[0] > 0
