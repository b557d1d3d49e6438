"""A pack's routing attributes, in the shape rules take, route leads."""

from __future__ import annotations

import pytest

from integrations.mirror.models import MirrorContact
from integrations.packs.selectors import pack_routing_attributes
from integrations.packs.services import pack_activate
from integrations.routing.engine import route_lead
from integrations.routing.models import RoutingDecision
from integrations.routing.services import rule_save
from saas_platform.kernel.errors import ApplicationError
from sandbox.ghl.testing import StandIn
from tenants.models import Location
from tests.conftest import World
from tests.integrations.routing.util import agent

pytestmark = pytest.mark.django_db


def attributes(location: Location) -> dict[str, str]:
    return {a.key: a.field for a in pack_routing_attributes(location=location)}


def test_nothing_is_offered_before_a_pack_is_activated(dubai: Location) -> None:
    assert pack_routing_attributes(location=dubai) == []


def test_the_real_estate_attributes_map_to_the_location_s_fields(
    dubai: Location, ghl: StandIn, world: World
) -> None:
    activation = pack_activate(location=dubai, pack_key="real_estate")
    assert attributes(dubai) == {
        "area": "custom:" + activation.fields["area"],
        "property_type": "custom:" + activation.fields["property_type"],
        "budget_band": "custom:" + activation.fields["budget"],
        "language": "custom:" + activation.fields["language"],
    }
    assert {a.pack for a in pack_routing_attributes(location=dubai)} == {"real_estate"}
    # Another tenant's location sees none of them.
    assert pack_routing_attributes(location=world.b.locations[0]) == []


def test_a_rule_on_the_area_attribute_routes_a_lead(dubai: Location, ghl: StandIn) -> None:
    pack_activate(location=dubai, pack_key="real_estate")
    area = attributes(dubai)["area"]
    agent(dubai, "marina-agent", attributes={"area": ["Dubai Marina"]})
    agent(dubai, "sharjah-agent", attributes={"area": ["Al Majaz", "Al Nahda"]})
    rule_save(
        location=dubai,
        name="By area",
        conditions={"field": area, "op": "in", "value": ["Dubai Marina", "Al Majaz", "Al Nahda"]},
        pool={"match": {"attribute": "area", "field": area}},
    )
    field_id = area.removeprefix("custom:")
    for ghl_id, value in (("lead-sharjah", "al majaz"), ("lead-marina", "Dubai Marina")):
        MirrorContact.objects.create(location=dubai, ghl_id=ghl_id, custom_fields={field_id: value})

    sharjah = route_lead(location=dubai, contact_ghl_id="lead-sharjah")
    marina = route_lead(location=dubai, contact_ghl_id="lead-marina")
    assert (sharjah.status, sharjah.agent_ghl_id) == (
        RoutingDecision.Status.ASSIGNED,
        "sharjah-agent",
    )
    assert marina.agent_ghl_id == "marina-agent"


def test_a_field_the_pack_created_can_be_routed_on_before_any_lead_has_a_value(
    dubai: Location, ghl: StandIn
) -> None:
    language = "custom:nothing-yet"
    agent(dubai, "arabic-agent", attributes={"language": ["Arabic"]})
    # The mirror knows custom fields from the contacts' values: an id it has not seen is refused…
    with pytest.raises(ApplicationError, match="unknown custom field"):
        rule_save(
            location=dubai,
            name="Arabic speakers",
            conditions={"field": language, "op": "equals", "value": "Arabic"},
            pool={"agents": ["arabic-agent"]},
        )
    pack_activate(location=dubai, pack_key="real_estate")
    language = attributes(dubai)["language"]  # created just now: no contact holds a value
    assert (
        not MirrorContact.objects.for_location(dubai)
        .filter(custom_fields__has_key=language.removeprefix("custom:"))
        .exists()
    )
    rule = rule_save(  # … but the pack's field is known
        location=dubai,
        name="Arabic speakers",
        conditions={"field": language, "op": "equals", "value": "Arabic"},
        pool={"match": {"attribute": "language", "field": language}},
    )
    assert rule.pk is not None


def test_a_contact_field_attribute_is_offered_as_the_field_name(
    dubai: Location, ghl: StandIn
) -> None:
    pack_activate(location=dubai, pack_key="home_services")
    assert attributes(dubai)["postal_code"] == "postal_code"
    assert attributes(dubai)["service_type"].startswith("custom:")
