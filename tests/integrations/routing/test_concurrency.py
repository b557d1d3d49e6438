"""200 leads arriving at once, each routed on its own thread and database connection (real
PostgreSQL): no agent is pushed past a cap and round robin stays exact."""

import threading
from collections import Counter
from datetime import UTC, datetime

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from integrations.routing.engine import route_lead
from integrations.routing.models import AgentDayCount, RoutingDecision
from integrations.routing.services import rule_save
from tenants.models import Location
from tests.conftest import World

from .util import agent, agents, contacts

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


def route_concurrently(
    location: Location, leads: list[str], threads: int = 8
) -> list[BaseException]:
    errors: list[BaseException] = []
    queue = list(leads)
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def worker() -> None:
        try:
            start.wait()
            while True:
                with lock:
                    if not queue:
                        return
                    lead = queue.pop()
                route_lead(location=location, contact_ghl_id=lead, now=NOW)
        except BaseException as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connections[DEFAULT_DB_ALIAS].close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    return errors


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_200_concurrent_leads_never_exceed_a_cap(world: World) -> None:
    location = world.a.locations[0]
    caps = {"cap05": 5, "cap10": 10, "cap20": 20, "cap40": 40}
    for ghl_id, cap in caps.items():
        agent(location, ghl_id, max_per_day=cap)
    agent(location, "open3", max_open=3)
    agent(location, "spare", max_per_day=50)
    rule_save(
        location=location,
        name="Capped",
        pool={"agents": [*caps, "open3"]},
        fallback_pool={"agents": ["spare"]},
    )
    leads = contacts(location, 200)
    assert route_concurrently(location, leads) == []

    decisions = RoutingDecision.objects.for_location(location)
    assert decisions.count() == 200
    given = Counter(decisions.values_list("agent_ghl_id", flat=True))
    # 78 fit under the main caps, the spare takes 50, the rest wait in the unroutable queue.
    assert given == {**caps, "open3": 3, "spare": 50, "": 72}
    counted = dict(
        AgentDayCount.objects.for_location(location).values_list("agent_ghl_id", "count")
    )
    assert counted == {**caps, "open3": 3, "spare": 50}


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_round_robin_stays_exact_and_each_lead_is_decided_once(world: World) -> None:
    location = world.a.locations[0]
    team = agents(location, 12)
    rule_save(location=location, name="All", pool={"agents": team})
    leads = contacts(location, 200)
    # Every lead twice: the second arrival of a lead must return the first decision.
    assert route_concurrently(location, leads + leads) == []
    decisions = RoutingDecision.objects.for_location(location)
    assert decisions.count() == 200
    counts = Counter(decisions.values_list("agent_ghl_id", flat=True))
    assert set(counts) == set(team)
    assert max(counts.values()) - min(counts.values()) <= 1
