"""Pytest fixtures for the GHL stand-in (register with ``pytest_plugins``).

``ghl_standin_process`` starts one stand-in per test session (per xdist worker) with the demo
scenario; ``ghl_standin`` resets it before each test so tests never see each other's data,
tokens, counters, faults or configuration changes.

Webhooks default to a closed loopback port, so a test run never posts signed events to a
developer's server on :8000; a test that wants them calls ``set_webhook_url(...)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.ghl.testing import StandIn

NOWHERE = "http://127.0.0.1:9/ghl-webhooks"  # the discard port: connection refused


@pytest.fixture(scope="session")
def ghl_standin_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    keys_dir = tmp_path_factory.mktemp("ghl-standin-keys")
    with StandIn(scenario="demo", keys_dir=keys_dir, webhook_url=NOWHERE) as standin:
        yield standin


@pytest.fixture
def ghl_standin(ghl_standin_process: StandIn) -> StandIn:
    ghl_standin_process.reset()
    return ghl_standin_process
