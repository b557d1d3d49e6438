"""The benches' scratch Redis databases: each bench claims its own, and leaves it empty."""

from __future__ import annotations

import redis

from bench.bench_webhook_ingest import SCRATCH_CLAIM, scratch_redis_db


def test_two_benches_at_once_never_share_a_scratch_database() -> None:
    with scratch_redis_db() as first, scratch_redis_db() as second:
        assert first != second
        for url in (first, second):
            assert redis.Redis.from_url(url).get(SCRATCH_CLAIM)  # claimed: others skip it
        redis.Redis.from_url(first).set("left-behind", "1")
    assert redis.Redis.from_url(first).dbsize() == 0  # flushed after, claim and all
    assert redis.Redis.from_url(second).dbsize() == 0
