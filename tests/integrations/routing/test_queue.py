"""The routing queue: a lead waits as a row until its agent is written to GHL; drains take a
location's waiting leads together; a drain that dies or a GHL outage loses no lead."""

from datetime import timedelta
from typing import Any

import pytest
import redis
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.mirror.models import MirrorContact, MirrorUser
from integrations.routing import queue
from integrations.routing.models import PendingLead, RoutingDecision
from integrations.routing.services import agent_profile_save, rule_save
from sandbox.ghl.testing import StandIn
from tenants.models import Location
from tests.conftest import World
from tests.integrations.conftest import CLINIC, Installer

from .util import agents, contacts

pytestmark = pytest.mark.django_db


def waiting(location: Location) -> list[str]:
    rows = PendingLead.objects.for_location(location).order_by("id")
    return list(rows.values_list("contact_ghl_id", flat=True))


def test_a_lead_is_queued_once_and_only_where_the_location_routes_leads(world: World) -> None:
    location, other = world.a.locations
    rule_save(location=location, name="Everyone", pool={"agents": agents(location, 1)})
    assert queue.lead_enqueue(location=location, contact_ghl_id="c1")
    assert not queue.lead_enqueue(location=location, contact_ghl_id="c1")
    assert not queue.lead_enqueue(location=other, contact_ghl_id="c2")  # no rule there
    assert waiting(location) == ["c1"] and waiting(other) == []


def test_leads_of_a_batch_are_queued_in_order_and_ask_for_one_drain(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    first, second = world.a.locations
    for location in (first, second):
        rule_save(location=location, name="Everyone", pool={"agents": agents(location, 1)})
    with django_capture_on_commit_callbacks() as callbacks:
        assert queue.lead_enqueue(location=first, contact_ghl_id="c2")
        assert queue.leads_enqueue(location=first, contact_ghl_ids=["c3", "c1", "c2", "c3"]) == 2
        assert queue.leads_enqueue(location=second, contact_ghl_ids=["c9"]) == 1
        assert queue.leads_enqueue(location=second, contact_ghl_ids=[]) == 0
    assert waiting(first) == ["c2", "c3", "c1"] and waiting(second) == ["c9"]
    assert len(callbacks) == 1  # one drain asked for by the whole transaction


def test_a_claim_takes_the_locations_whose_leads_waited_longest_and_leases_them(
    world: World,
) -> None:
    first, second = world.a.locations
    third = world.b.locations[0]
    for location in (first, second, third):
        rule_save(location=location, name="All", pool={"agents": agents(location, 1)})
    now = timezone.now()
    for n, location in enumerate((first, second, first, third)):
        queue.lead_enqueue(location=location, contact_ghl_id=f"c{n}", now=now)
    # The two longest-waiting leads are of the first and second location: all their leads.
    claimed = queue._claim(now, 10, heads=2)
    assert [(c.location_id, c.contact_ghl_id) for c in claimed] == [
        (first.pk, "c0"),
        (second.pk, "c1"),
        (first.pk, "c2"),
    ]
    assert [c.contact_ghl_id for c in queue._claim(now, 10, heads=2)] == ["c3"]
    assert queue._claim(now, 10) == []  # leased
    # A drain that died: its leads come back once the lease has run out.
    later = queue._claim(now + queue.LEASE + timedelta(seconds=1), 10)
    assert [c.attempts for c in later] == [2, 2, 2, 2]


def test_a_drain_routes_and_gives_up_writing_where_the_location_is_not_connected(
    world: World,
) -> None:
    location = world.a.locations[0]
    team = agents(location, 2)
    rule_save(location=location, name="Everyone", pool={"agents": team})
    for contact in contacts(location, 3):
        queue.lead_enqueue(location=location, contact_ghl_id=contact)
    assert queue.leads_drain() == 3
    decisions = RoutingDecision.objects.for_location(location).order_by("contact_ghl_id")
    assert [d.agent_ghl_id for d in decisions] == [*team, team[0]]
    assert {d.ghl_error for d in decisions} == {"The location is not connected to GHL."}
    assert waiting(location) == []


def _rule_over_users(location: Location) -> list[str]:
    users = sorted(MirrorUser.objects.for_location(location).values_list("ghl_id", flat=True))[:2]
    for user in users:
        agent_profile_save(location=location, ghl_user_id=user)
    rule_save(location=location, name="Everyone", pool={"agents": users})
    return users


def test_a_drain_writes_a_batch_to_ghl_and_the_mirror(dubai: Location, ghl: StandIn) -> None:
    users = _rule_over_users(dubai)
    leads = list(
        MirrorContact.objects.for_location(dubai)
        .order_by("ghl_id")
        .values_list("ghl_id", flat=True)
    )[:4]
    for lead in leads:
        queue.lead_enqueue(location=dubai, contact_ghl_id=lead)
    assert queue.leads_drain() == 4
    decisions = {
        d.contact_ghl_id: d
        for d in RoutingDecision.objects.for_location(dubai).filter(is_current=True)
    }
    assert [decisions[c].agent_ghl_id for c in leads] == [*users, *users]
    assert all(d.ghl_written_at is not None and d.ghl_error == "" for d in decisions.values())
    mirrored = dict(
        MirrorContact.objects.for_location(dubai)
        .filter(ghl_id__in=leads)
        .values_list("ghl_id", "assigned_to")
    )
    assert mirrored == {c: decisions[c].agent_ghl_id for c in leads}
    assert waiting(dubai) == []


def test_a_ghl_outage_puts_the_leads_back_with_a_backoff(
    dubai: Location, ghl: StandIn, settings: Any
) -> None:
    _rule_over_users(dubai)
    lead = MirrorContact.objects.for_location(dubai).order_by("ghl_id").first()
    assert lead is not None
    queue.lead_enqueue(location=dubai, contact_ghl_id=lead.ghl_id)
    ghl.set_faults(error_rate=1.0, error_status=503)
    try:
        queue.leads_drain()
    finally:
        ghl.clear_faults()
    row = PendingLead.objects.for_location(dubai).get()
    assert row.attempts == 1 and row.due_at > timezone.now()
    decision = RoutingDecision.objects.for_location(dubai).get(contact_ghl_id=lead.ghl_id)
    assert decision.agent_ghl_id and decision.ghl_written_at is None
    # Once due again, the same decision is written (routing is not repeated).
    PendingLead.objects.for_location(dubai).update(due_at=timezone.now())
    queue.leads_drain()
    decision.refresh_from_db()
    assert decision.ghl_written_at is not None
    assert RoutingDecision.objects.for_location(dubai).count() == 1
    assert waiting(dubai) == []


def test_a_batch_looks_for_a_revocation_once_and_asks_the_governor_once_per_call(
    dubai: Location, ghl: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    _rule_over_users(dubai)
    leads = list(
        MirrorContact.objects.for_location(dubai)
        .order_by("ghl_id")
        .values_list("ghl_id", flat=True)
    )[:6]
    queue.lead_enqueue(location=dubai, contact_ghl_id=leads[0])
    queue.leads_drain()  # the token is now held in memory, as in a running worker
    queue.leads_enqueue(location=dubai, contact_ghl_ids=leads[1:])
    commands: list[tuple[Any, ...]] = []
    execute = redis.Redis.execute_command

    def counting(self: redis.Redis, *args: Any, **options: Any) -> Any:
        commands.append(args)
        return execute(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counting)
    assert queue.leads_drain() == 5
    governor = [c for c in commands if c[0] in ("EVALSHA", "EVAL")]
    revocation = [c for c in commands if c[0] == "GET" and "ghl:revoked:" in str(c[1])]
    # A turn per call carrying the previous call's answer, and the last answer at the end.
    assert len(governor) == 5 + 1
    # At most one look per REVOCATION_RECHECK_S in a process (none: the first drain looked).
    assert len(revocation) <= 1
    written = RoutingDecision.objects.for_location(dubai).filter(ghl_written_at__isnull=False)
    assert written.count() == 6


def test_a_drain_pays_once_per_claim_for_look_ups_deletes_and_call_records(
    dubai: Location, install: Installer
) -> None:
    clinic = install(location_id=CLINIC).location
    assert clinic is not None
    leads: dict[Location, list[str]] = {}
    for location in (dubai, clinic):
        _rule_over_users(location)
        mirrored = MirrorContact.objects.for_location(location).order_by("ghl_id")
        leads[location] = list(mirrored.values_list("ghl_id", flat=True)[:3])
        queue.lead_enqueue(location=location, contact_ghl_id=leads[location][0])
    queue.leads_drain()  # the first lead of each: rule states made, tokens held
    for n in (1, 2):  # interleaved, as leads arrive
        for location in (dubai, clinic):
            queue.lead_enqueue(location=location, contact_ghl_id=leads[location][n])
    with CaptureQueriesContext(connection) as queries:
        assert queue.leads_drain() == 4
    statements = [q["sql"] for q in queries.captured_queries]

    def count(fragment: str) -> int:
        return sum(fragment in sql for sql in statements)

    # One claim of both locations (and the empty one that ends the drain), one DELETE.
    assert count(PendingLead._meta.db_table) == 3
    assert count('SELECT "tenants_location"."id"') == 1
    assert count('FROM "tenants_locationentitlements"') == 0  # joined to the locations
    assert count('FROM "integrations_ghlinstallation"') == 1
    assert count('INSERT INTO "integrations_ghlcalllog"') == 1  # both locations' GHL calls
    written = RoutingDecision.objects.for_location(clinic).exclude(ghl_written_at=None)
    assert written.count() == 3 and waiting(dubai) == waiting(clinic) == []
