"""The failure drills (`make drills`) are not part of the suite (minutes of real processes);
this checks they are all there, documented, and that the pieces they stand on work."""

from __future__ import annotations

import redis

from drills.harness import ORDER, Outcome, Result, discover, table
from drills.topology import OwnRedis


def test_every_drill_is_found_and_states_its_method_and_pass_criteria() -> None:
    found = discover()
    assert [name for name, _ in found] == list(ORDER)
    for name, func in found:
        doc = func.__doc__ or ""
        assert "Method:" in doc and "Pass" in doc, name


def test_a_drill_can_be_picked_by_name_or_by_module() -> None:
    assert [name for name, _ in discover(["readyz"])] == ["readyz"]
    assert [name for name, _ in discover(["tokens"])] == [
        "refresh_kill_before_call",
        "refresh_kill_after_answer",
        "refresh_kill_after_answer_agency",
        "refresh_kill_after_commit",
    ]


def test_own_redis_restarts_empty_on_the_same_port() -> None:
    server = OwnRedis()
    server.start()
    try:
        client = redis.Redis.from_url(server.url)
        client.set("k", "v")
        server.stop()
        server.start()
        assert client.get("k") is None  # no persistence: a restart loses what was queued
        client.close()
    finally:
        server.stop()


def test_the_summary_fails_a_drill_that_raised_or_did_not_pass() -> None:
    ok = Result("a", Outcome("x", "fine", passed=True), 1.0)
    lost = Result("b", Outcome("x", "1 lost", passed=False), 2.0)
    broken = Result("c", None, 3.0, error="TimeoutError: waited")
    assert [r.passed for r in (ok, lost, broken)] == [True, False, False]
    lines = table([ok, lost, broken]).splitlines()
    assert [line.split("|")[1].strip() for line in lines[2:]] == ["pass", "FAIL", "FAIL"]
