"""Billing tests: Stripe answered at the wire, an agency whose connected account is ready, and
one of its plans already in Stripe."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from billing.models import Plan, StripeAccount
from tests.billing.stripe_wire import StripeWire
from tests.conftest import World


@pytest.fixture
def stripe_wire() -> Iterator[StripeWire]:
    with respx.mock(assert_all_called=False) as router:
        wire = StripeWire(router)
        wire.install()
        yield wire


@pytest.fixture
def ready_account(world: World, stripe_wire: StripeWire) -> StripeAccount:
    """Agency A's connected account, onboarded (charges and payouts enabled)."""
    remote = stripe_wire.put(
        {
            "id": "acct_AgencyA0000001",
            "object": "account",
            "charges_enabled": True,
            "payouts_enabled": True,
            "details_submitted": True,
            "requirements": {"currently_due": []},
        },
        None,
    )
    assert remote.status_code == 200
    return StripeAccount.objects.create(
        agency=world.a.agency,
        stripe_account_id="acct_AgencyA0000001",
        charges_enabled=True,
        payouts_enabled=True,
        details_submitted=True,
    )


@pytest.fixture
def plan(world: World, ready_account: StripeAccount, stripe_wire: StripeWire) -> Plan:
    from billing.services.plans import plan_save

    return plan_save(
        agency=world.a.agency,
        data={
            "name": "Growth",
            "amount": 9900,
            "currency": "usd",
            "trial_days": 14,
            "entitlements": {"routing": True, "reports": True, "seats": 5, "contact_limit": 5000},
        },
        acting_user=world.a.owner,
    )
