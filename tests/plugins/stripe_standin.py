"""Pytest fixtures for the Stripe stand-in (register with ``pytest_plugins``).

``stripe_standin_process`` starts one stand-in per test session (per xdist worker);
``stripe_standin`` resets it before each test (objects, clock, failures, deliveries).
There is no default webhook URL: a test that wants events sets one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.stripe.testing import StripeStandIn


@pytest.fixture(scope="session")
def stripe_standin_process() -> Iterator[StripeStandIn]:
    with StripeStandIn(platform_name="Stand-in Platform") as standin:
        yield standin


@pytest.fixture
def stripe_standin(stripe_standin_process: StripeStandIn) -> StripeStandIn:
    stripe_standin_process.reset()
    return stripe_standin_process
