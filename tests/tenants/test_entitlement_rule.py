"""The one rule features ask (tenants.entitlements): no record → everything, without limits; a
paused record → nothing; otherwise what the plan grants, a limit it does not name being 0."""

from __future__ import annotations

import pytest

from saas_platform.kernel.errors import NotEntitled
from tenants.entitlements import (
    feature_require,
    location_access,
    location_limit,
    location_may,
    location_plan_notice,
)
from tenants.models import Location
from tenants.portal import workspace_resolve
from tenants.services import location_entitlements_set
from tests.conftest import World

pytestmark = pytest.mark.django_db


def _grant(location: Location, state: str = "active", **granted: object) -> None:
    location_entitlements_set(location=location, granted=granted, state=state)


def test_without_a_record_everything_is_allowed_without_limits(world: World) -> None:
    location = world.a.locations[0]
    assert location_may(location=location, feature="routing")
    assert location_limit(location=location, key="seats") is None
    feature_require(location=location, feature="connectors", used=10_000)
    assert location_plan_notice(location=location) is None


def test_a_plan_allows_what_it_grants_and_counts_its_limits(world: World) -> None:
    location = world.a.locations[0]
    _grant(location, routing=True, seats=2)
    assert location_may(location=location, feature="routing")
    assert not location_may(location=location, feature="reports")  # not named: not allowed
    assert location_limit(location=location, key="seats") == 2
    assert location_limit(location=location, key="connectors") == 0
    assert location_access(location=location, feature="seats", used=1).allowed
    full = location_access(location=location, feature="seats", used=2)
    assert (full.allowed, full.reason, full.limit) == (False, "limit_reached", 2)
    with pytest.raises(NotEntitled, match="Your plan does not include reports") as refused:
        feature_require(location=location, feature="reports")
    assert refused.value.extra == {"feature": "reports", "reason": "not_in_plan", "limit": None}
    # The other locations, and the other agency, have no record: untouched.
    assert location_may(location=world.a.locations[1], feature="reports")
    assert location_may(location=world.b.locations[0], feature="reports")


def test_paused_allows_nothing_and_restored_allows_the_plan_again(world: World) -> None:
    location = world.a.locations[0]
    _grant(location, state="paused", routing=True, seats=5)
    paused = location_access(location=location, feature="routing")
    assert (paused.allowed, paused.reason) == (False, "paused")
    assert "Billing is paused" in paused.message and "Nothing has been deleted" in paused.message
    assert location_limit(location=location, key="seats") == 0
    notice = location_plan_notice(location=location)
    assert notice is not None and notice.state == "paused"
    _grant(location, state="grace", routing=True, seats=5)
    assert location_may(location=location, feature="routing")  # grace keeps features on
    notice = location_plan_notice(location=location)
    assert notice is not None and notice.state == "grace"
    _grant(location, routing=True, seats=5)
    assert location_may(location=location, feature="routing")
    assert location_plan_notice(location=location) is None


def test_the_workspace_brings_the_record_along_so_checks_need_no_query(
    world: World, django_assert_num_queries: object
) -> None:
    location = world.a.locations[0]
    _grant(location, state="paused", reports=True)
    for user in (world.a.client_admin, world.a.owner):
        found = workspace_resolve(user=user, agency=world.a.agency, location_id=location.pk)
        assert found is not None
        with django_assert_num_queries(0):  # type: ignore[operator]
            assert not location_may(location=found[0], feature="reports")
