"""The bench harness computes ratios and verdicts right, and the load generator counts right."""

import asyncio
from pathlib import Path

import pytest

from bench import bench_portal_lcp
from bench.harness import BenchContext, Figure, table
from bench.loadgen import LoadResult, percentile, run_load


@pytest.mark.parametrize(
    ("figure", "passed"),
    [
        (Figure("X", "x", 1600, "req/s", goal=">= 1500"), True),
        (Figure("X", "x", 1400, "req/s", goal=">= 1500"), False),
        (Figure("X", "x", 40, "ms", goal="<= 50"), True),
        (Figure("X", "x", 500, "req/s", goal="ratio >= 0.4", baseline=1000), True),
        (Figure("X", "x", 300, "req/s", goal="ratio >= 0.4", baseline=1000), False),
        (Figure("X", "x", 300, "req/s", goal="ratio >= 0.4"), False),  # no baseline: no pass
        (Figure("X", "x", 300, "req/s"), None),
    ],
)
def test_verdicts(figure: Figure, passed: bool | None) -> None:
    assert figure.passed is passed


def test_a_malformed_goal_is_an_error() -> None:
    with pytest.raises(ValueError, match="goal"):
        _ = Figure("X", "x", 1, "s", goal="fast").passed


def test_table_shows_baseline_ratio_and_verdict() -> None:
    text = table([Figure("P7", "webhooks", 1000, "req/s", "ratio >= 0.4", 2000, "B0")])
    row = text.splitlines()[2]
    assert "P7" in row and "2,000 (B0)" in row and "0.50x" in row and "pass" in row


def test_a_skipped_figure_is_reported_not_judged() -> None:
    figure = Figure("P10", "lcp", 0.0, "ms", goal="<= 2500", skipped="no Chromium")
    assert figure.passed is None
    row = table([figure]).splitlines()[2]
    assert "skipped" in row and "pass" not in row and "FAIL" not in row


def test_the_lcp_bench_skips_without_chromium(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(bench_portal_lcp, "CHROMIUM", tmp_path / "no-chromium")
    [figure] = bench_portal_lcp.run(BenchContext(tmp=tmp_path))
    assert figure.id == "P10" and figure.skipped and figure.passed is None


def test_percentile() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50 and percentile(values, 0.99) == 99


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Alternates a Content-Length answer and a chunked one on one keep-alive connection."""
    count = 0
    while True:
        try:
            await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            break
        count += 1
        if count % 2:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
        else:
            writer.write(
                b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
            )
        await writer.drain()
    writer.close()


def test_load_generator_reads_both_framings_and_counts_every_answer() -> None:
    async def scenario() -> tuple[int, dict[int, int], int]:
        server = await asyncio.start_server(_serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            result = await run_load(f"http://127.0.0.1:{port}/", connections=4, duration=0.5)
        return result.requests, result.statuses, result.errors

    requests, statuses, errors = asyncio.run(scenario())
    assert errors == 0 and requests > 100
    assert sum(statuses.values()) == requests
    assert abs(statuses[200] - statuses[201]) <= 4  # one of each per connection, in turn


def test_a_paced_load_sends_at_the_rate_and_says_when_each_request_left() -> None:
    async def scenario() -> LoadResult:
        server = await asyncio.start_server(_serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await run_load(
                f"http://127.0.0.1:{port}/", connections=4, duration=0.5, rate=100
            )

    result = asyncio.run(scenario())
    # 0.5 s at 100/s: 50 slots before the deadline, plus at most one per connection after it.
    assert 50 <= result.sent <= 54 and len(result.sent_at) == result.sent
    gaps = [b - a for a, b in zip(result.sent_at, result.sent_at[1:], strict=False)]
    assert all(gap >= 0 for gap in gaps)  # in slot order
    assert 0.45 <= result.sent_at[-1] - result.sent_at[0] <= 0.7  # spread, not a burst
