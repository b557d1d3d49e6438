"""The seed's real-estate client: 12 agents over Dubai, Abu Dhabi and Sharjah with area (and
villa) specialisations and daily caps; 1,000 leads with areas and property types. Every lead
lands with a matching specialist unless all of them are capped, then with the emirate's
fallback pool."""

import random
from collections import Counter
from datetime import UTC, datetime

import pytest

from integrations.mirror.models import MirrorContact
from integrations.routing.engine import route_lead
from integrations.routing.services import rule_save
from tenants.models import Location
from tests.conftest import World

from .util import agent, contacts

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)  # noon in Dubai, a Wednesday

# agent: (emirate, areas, property types, daily cap)
TEAM = {
    "dxb_marina1": ("Dubai", ["Dubai Marina", "JLT"], ["apartment"], 60),
    "dxb_marina2": ("Dubai", ["Dubai Marina", "JBR"], ["apartment"], 60),
    "dxb_downtown1": ("Dubai", ["Downtown", "Business Bay"], ["apartment"], 70),
    "dxb_downtown2": ("Dubai", ["Downtown", "Business Bay"], ["apartment", "villa"], 70),
    "dxb_villas1": ("Dubai", ["Dubai Hills", "Arabian Ranches"], ["villa", "townhouse"], 80),
    "dxb_villas2": ("Dubai", ["Dubai Hills", "Arabian Ranches", "JLT"], ["villa"], 80),
    "auh_reem": ("Abu Dhabi", ["Al Reem", "Saadiyat"], ["apartment", "villa"], 90),
    "auh_yas": ("Abu Dhabi", ["Yas", "Saadiyat"], ["apartment", "townhouse"], 90),
    "auh_all": ("Abu Dhabi", ["Al Reem", "Yas"], ["apartment"], 90),
    "shj_majaz": ("Sharjah", ["Al Majaz", "Al Nahda"], ["apartment"], 70),
    "shj_aljada": ("Sharjah", ["Aljada", "Al Majaz"], ["apartment", "townhouse"], 70),
    "shj_nahda": ("Sharjah", ["Al Nahda", "Aljada"], ["apartment"], 70),
}
AREAS = {
    emirate: sorted({a for e, areas, _, _ in TEAM.values() if e == emirate for a in areas})
    for emirate in ("Dubai", "Abu Dhabi", "Sharjah")
}


def _lead(rng: random.Random) -> dict[str, object]:
    emirate = rng.choices(list(AREAS), weights=[6, 3, 2])[0]
    area = rng.choice(AREAS[emirate])
    kind = rng.choice(["apartment", "villa", "townhouse"])
    return {"custom_fields": {"emirate": emirate, "area": area, "property_type": kind}}


@pytest.fixture
def dubai_brokerage(world: World) -> Location:
    location = world.a.locations[0]
    location.timezone = "Asia/Dubai"
    location.save()
    for ghl_id, (_, areas, kinds, cap) in TEAM.items():
        agent(location, ghl_id, max_per_day=cap, attributes={"area": areas, "property_type": kinds})
    rng = random.Random(20260304)
    contacts(location, 1_000, lambda i: _lead(rng))
    by_area = {"attribute": "area", "field": "custom:area"}
    for emirate in AREAS:
        members = [a for a, (e, *_) in TEAM.items() if e == emirate]
        if emirate == "Dubai":  # villas where villa specialists work go to them first
            villa_areas = ["Arabian Ranches", "Business Bay", "Downtown", "Dubai Hills"]
            rule_save(
                location=location,
                name="Dubai villas",
                conditions={
                    "all": [
                        {"field": "custom:emirate", "op": "equals", "value": "Dubai"},
                        {"field": "custom:property_type", "op": "equals", "value": "villa"},
                        {"field": "custom:area", "op": "in", "value": villa_areas},
                    ]
                },
                pool={"agents": [a for a in members if "villa" in TEAM[a][2]], "match": by_area},
                fallback_pool={"agents": members},
                strategy="least_loaded",
            )
        rule_save(
            location=location,
            name=emirate,
            conditions={"field": "custom:emirate", "op": "equals", "value": emirate},
            pool={"agents": members, "match": by_area},
            fallback_pool={"agents": members},
            strategy="round_robin",
        )
    return location


def test_every_lead_lands_with_a_specialist_unless_all_are_capped(
    dubai_brokerage: Location,
) -> None:
    location = dubai_brokerage
    rows = MirrorContact.objects.for_location(location).order_by("ghl_id")
    given: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    for contact in rows:
        decision = route_lead(location=location, contact_ghl_id=contact.ghl_id, now=NOW)
        fields = contact.custom_fields
        statuses[decision.status] += 1
        main = [c for c in decision.candidates if c["pool"] == "main"]
        specialists = [a for a in (c["agent"] for c in main) if fields["area"] in TEAM[a][1]]
        if decision.status == "assigned":
            chosen = TEAM[decision.agent_ghl_id]
            assert chosen[0] == fields["emirate"] and fields["area"] in chosen[1]
            if decision.rule_name == "Dubai villas":
                assert "villa" in chosen[2]
        else:
            # Only once every specialist was at their cap.
            assert specialists
            assert {c["reason"] for c in main if c["agent"] in specialists} == {"daily_cap"}
            if decision.status == "fallback":
                assert TEAM[decision.agent_ghl_id][0] == fields["emirate"]
            else:
                assert all(not c["eligible"] for c in decision.candidates)
        given[decision.agent_ghl_id] += 1
    for ghl_id, (*_, cap) in TEAM.items():
        assert given[ghl_id] <= cap
    # The data set is sized so that every path is exercised.
    assert statuses["assigned"] > 700 and statuses["fallback"] > 0, statuses
    assert sum(statuses.values()) == 1_000
