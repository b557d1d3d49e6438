"""L1-floor's measurement: a bare client's assignments written to the GHL stand-in, and the CPU
each side spent on them."""

from __future__ import annotations

import pytest

from bench import bench_lead_latency


def test_the_floor_measures_both_sides_of_a_ghl_write(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_lead_latency, "FLOOR_WRITES", 200)
    client, standin = bench_lead_latency._ghl_write_cpu()
    # Both sides do real work per write (parsing, routing, JSON), and far less than a second.
    assert 0 < client < 0.05
    assert 0 < standin < 0.05
