"""Entitlements: validated, audited when they change, silent when they do not, and paused
without losing what was granted."""

from __future__ import annotations

import pytest

from saas_platform.kernel.errors import ApplicationError, UnscopedQueryError
from tenants import selectors
from tenants.models import AuditLogEntry, LocationEntitlements
from tenants.services import location_entitlements_set
from tests.conftest import World


def test_set_pause_restore(world: World) -> None:
    location = world.a.locations[0]
    granted = {"routing": True, "seats": 3}
    location_entitlements_set(location=location, granted=granted, state="active")
    location_entitlements_set(location=location, granted=granted, state="active")
    location_entitlements_set(location=location, granted=granted, state="paused")
    assert selectors.location_entitlements(location) == {}
    location_entitlements_set(location=location, granted=granted, state="active")
    assert selectors.location_entitlements(location) == granted
    actions = AuditLogEntry.objects.for_agency(world.a.agency).filter(
        action="location.entitlements_changed"
    )
    assert actions.count() == 3  # the repeated call changed nothing
    assert selectors.location_entitlements(world.b.locations[0]) == {}


@pytest.mark.parametrize(
    ("granted", "state", "message"),
    [
        ({"teleport": True}, "active", "Unknown entitlements: teleport"),
        ({"seats": True}, "active", "'seats' must be a whole number"),
        ({"routing": "yes"}, "active", "'routing' must be true or false"),
        ({}, "frozen", "Unknown entitlement state"),
    ],
)
def test_bad_entitlements_are_refused(
    world: World, granted: dict[str, object], state: str, message: str
) -> None:
    with pytest.raises(ApplicationError, match=message):
        location_entitlements_set(location=world.a.locations[0], granted=granted, state=state)
    assert not LocationEntitlements.objects.for_agency(world.a.agency).exists()


def test_unscoped_reads_are_refused(world: World) -> None:
    with pytest.raises(UnscopedQueryError):
        list(LocationEntitlements.objects.all())
