"""Bad rules and profiles are refused when saved, with a message, never at routing time."""

from typing import Any

import pytest

from integrations.routing.models import RoutingRule
from integrations.routing.services import agent_profile_save, rule_save
from saas_platform.kernel.errors import ApplicationError
from tenants.models import Location, LocationOwnedQuerySet
from tests.conftest import World

from .util import agent, contacts

pytestmark = pytest.mark.django_db


@pytest.fixture
def location(world: World) -> Location:
    loc = world.a.locations[0]
    agent(loc, "amal")
    contacts(loc, 1, lambda i: {"custom_fields": {"area": "JLT"}})
    return loc


def save(location: Location, **kwargs: Any) -> RoutingRule:
    return rule_save(
        **{"location": location, "name": "Dubai", "pool": {"agents": ["amal"]}} | kwargs
    )


def test_a_good_rule_is_saved_with_its_state_and_an_audit_entry(location: Location) -> None:
    rule = save(location, conditions={"field": "custom:area", "op": "in", "value": ["JLT"]})
    assert rule.state.last_agent == ""
    assert rule.position == 1
    assert save(location, name="Second").position == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"conditions": {"field": "budget", "op": "gte", "value": 1}}, "unknown field 'budget'"),
        (
            {"conditions": {"field": "custom:zone", "op": "equals", "value": "x"}},
            "unknown custom field 'zone'",
        ),
        (
            {"conditions": {"field": "source", "op": "near", "value": "x"}},
            "unknown operator 'near'",
        ),
        (
            {"conditions": {"field": "custom:area", "op": "between", "value": [9, 1]}},
            "low above high",
        ),
        ({"pool": {"agents": []}}, "Pool is empty"),
        ({"pool": {}}, "Pool is empty"),
        ({"pool": {"agents": ["ghost"]}}, "unknown agent(s) ghost"),
        ({"fallback_pool": {"agents": ["ghost"]}}, "Fallback pool: unknown agent(s) ghost"),
        (
            {"pool": {"match": {"attribute": "area", "field": "custom:zone"}}},
            "unknown custom field",
        ),
        ({"pool": {"match": {"attribute": "", "field": "city"}}}, "needs an agent attribute"),
        ({"strategy": "random"}, "Unknown strategy 'random'"),
        ({"name": "  "}, "needs a name"),
    ],
)
def test_bad_rules_are_refused(location: Location, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ApplicationError) as err:
        save(location, **kwargs)
    assert message in err.value.message
    assert not RoutingRule.objects.for_location(location).exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hours_timezone": "Mars/Olympus"}, "not a known IANA time zone"),
        ({"hours": {"mon": [["09:00", "25:00"]]}}, "not an HH:MM time"),
        ({"hours": {"mon": [["17:00", "09:00"]]}}, "ends before it starts"),
        ({"hours": {"funday": [["09:00", "17:00"]]}}, "unknown day 'funday'"),
        ({"weight": 0}, "Weight must be"),
        ({"max_per_day": -1}, "cap must be a whole number"),
        ({"attributes": {"area": "JLT"}}, "Attributes must look like"),
    ],
)
def test_bad_profiles_are_refused(location: Location, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ApplicationError) as err:
        agent_profile_save(location=location, ghl_user_id="amal", **kwargs)
    assert message in err.value.message


def test_a_profile_for_someone_not_a_user_of_the_location_is_refused(
    location: Location, world: World
) -> None:
    with pytest.raises(ApplicationError, match="Unknown agent 'ghost'"):
        agent_profile_save(location=location, ghl_user_id="ghost")
    other = world.b.locations[0]  # amal is a user of another location, not this one
    with pytest.raises(ApplicationError, match="Unknown agent 'amal'"):
        agent_profile_save(location=other, ghl_user_id="amal")


def test_querysets_are_scoped() -> None:
    assert issubclass(type(RoutingRule.objects.all()), LocationOwnedQuerySet)
