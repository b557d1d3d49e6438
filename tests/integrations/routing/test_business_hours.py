"""Business hours are wall-clock hours in the location's time zone and follow DST: computed
from UTC instants on the day New York springs forward (2026-03-08, 02:00 → 03:00)."""

from datetime import UTC, datetime

import pytest

from integrations.routing.engine import route_lead
from integrations.routing.services import rule_save
from tenants.models import Location
from tests import factories
from tests.conftest import World

from .util import agent, contacts

pytestmark = pytest.mark.django_db
NINE_TO_FIVE = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.fixture
def new_york(world: World) -> Location:
    location = factories.LocationFactory(agency=world.a.agency, timezone="America/New_York")
    agent(location, "office", hours=NINE_TO_FIVE)
    rule_save(location=location, name="All", pool={"agents": ["office"]})
    return location


@pytest.mark.parametrize(
    ("utc", "eligible"),
    [
        # Saturday 7 March, EST (UTC-5)
        (datetime(2026, 3, 7, 14, 30, tzinfo=UTC), True),  # 09:30 local
        (datetime(2026, 3, 7, 13, 30, tzinfo=UTC), False),  # 08:30 local
        # Sunday 8 March, after the change: EDT (UTC-4)
        (datetime(2026, 3, 8, 13, 30, tzinfo=UTC), True),  # 09:30 local (08:30 in EST terms)
        (datetime(2026, 3, 8, 12, 30, tzinfo=UTC), False),  # 08:30 local
        (datetime(2026, 3, 8, 14, 30, tzinfo=UTC), True),  # 10:30 local
        (datetime(2026, 3, 8, 21, 30, tzinfo=UTC), False),  # 17:30 local
    ],
)
def test_nine_to_five_across_the_march_change(
    new_york: Location, utc: datetime, eligible: bool
) -> None:
    [lead] = contacts(new_york, 1)
    decision = route_lead(location=new_york, contact_ghl_id=lead, now=utc)
    assert (decision.agent_ghl_id == "office") is eligible
    if not eligible:
        assert decision.candidates[0]["reason"] == "outside_hours"


def test_an_agent_can_keep_hours_in_another_time_zone(new_york: Location) -> None:
    agent(new_york, "office", hours={"sun": [["09:00", "17:00"]]}, hours_timezone="Asia/Dubai")
    [lead] = contacts(new_york, 1)
    sunday_10_dubai = datetime(2026, 3, 8, 6, 0, tzinfo=UTC)  # 01:00 in New York (Sunday too)
    decision = route_lead(location=new_york, contact_ghl_id=lead, now=sunday_10_dubai)
    assert decision.agent_ghl_id == "office"
