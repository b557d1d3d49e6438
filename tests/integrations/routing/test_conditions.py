"""Conditions: every operator over contact fields, custom fields, tags and source, and the
refusals at save time."""

from typing import Any

import pytest

from integrations.mirror.models import MirrorContact
from integrations.routing import conditions
from saas_platform.kernel.errors import ApplicationError

LEAD = MirrorContact(
    ghl_id="c1",
    source="Bayut",
    city="Dubai",
    postal_code="SW1A 2AA",
    tags=["vip", "arabic-speaker"],
    custom_fields={"area": "Dubai Marina", "budget": "1,250,000", "beds": 3},
)


def leaf(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (leaf("source", "equals", "bayut"), True),
        (leaf("source", "equals", "Zillow"), False),
        (leaf("source", "in", ["Zillow", "BAYUT "]), True),
        (leaf("city", "contains", "uba"), True),
        (leaf("tags", "contains", "VIP"), True),
        (leaf("tags", "equals", "cold"), False),
        (leaf("tags", "in", ["cold", "vip"]), True),
        (leaf("custom:area", "in", ["dubai marina", "JLT"]), True),
        (leaf("custom:area", "equals", "JLT"), False),
        (leaf("custom:budget", "between", [1_000_000, 2_000_000]), True),
        (leaf("custom:budget", "gte", 1_300_000), False),
        (leaf("custom:beds", "lte", "3"), True),
        (leaf("custom:missing", "equals", "x"), False),
        (leaf("city", "gte", 5), False),  # not a number: no match, no error
        (leaf("postal_code", "postal_in", ["sw1a", "EC1"]), True),
        (leaf("postal_code", "postal_in", ["SW1B"]), False),
        ({"all": [leaf("source", "equals", "Bayut"), leaf("tags", "contains", "vip")]}, True),
        ({"all": [leaf("source", "equals", "Bayut"), leaf("tags", "contains", "x")]}, False),
        (
            {"any": [leaf("source", "equals", "x"), {"all": [leaf("city", "equals", "dubai")]}]},
            True,
        ),
        ({}, True),
    ],
)
def test_matches(node: dict[str, Any], expected: bool) -> None:
    conditions.validate(node)
    assert conditions.matches(node, LEAD) is expected


@pytest.mark.parametrize(
    ("node", "message"),
    [
        (leaf("favourite_colour", "equals", "red"), "unknown field 'favourite_colour'"),
        (leaf("source", "like", "x"), "unknown operator 'like'"),
        (leaf("custom:budget", "between", [5, 1]), "has low above high"),
        (leaf("custom:budget", "between", [1]), "'between' needs [low, high] numbers"),
        (leaf("custom:budget", "gte", "lots"), "'gte' needs a number"),
        (leaf("source", "in", []), "'in' needs a non-empty list"),
        (leaf("custom:", "equals", "x"), "names no custom field id"),
        (leaf("source", "equals", ""), "needs a text or number value"),
        ({"all": []}, "'all' needs a non-empty list"),
        ({"any": [leaf("nope", "equals", "x")]}, "conditions.any[0]: unknown field 'nope'"),
        ([], "expected an object"),
    ],
)
def test_bad_conditions_are_refused_with_a_message(node: Any, message: str) -> None:
    with pytest.raises(ApplicationError) as err:
        conditions.validate(node)
    assert message in err.value.message


def test_unknown_custom_field_is_refused_when_the_fields_are_known() -> None:
    with pytest.raises(ApplicationError, match="unknown custom field 'budgte'"):
        conditions.validate(leaf("custom:budgte", "gte", 1), custom_ids={"budget", "area"})
