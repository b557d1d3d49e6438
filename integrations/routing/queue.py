"""The routing queue: leads wait as `PendingLead` rows and drains route them a location at a time.

A lead arriving costs one INSERT (only where the location has an enabled rule) and, at most, one
drain published: as with the inbox (`inbox.dispatch`), a Redis flag says a drain is asked for and
not yet started, so a burst asks once. A drain claims the waiting leads of the location whose
lead waited longest, routes and writes them together (`assign.leads_assign`), deletes their rows,
and goes on with the next location until none waits. Under load the leads of a location pile up
while a drain is busy elsewhere, so batches grow exactly when the per-lead cost matters.

Nothing is lost: a claim only leases its rows (`due_at` pushed LEASE ahead), so the rows of a
drain that dies are claimed again once the lease runs out (the sweep asks for a drain then); a
transient GHL error puts the rest of the batch back with a backoff. Routing and the GHL write
are idempotent per contact, so a lead claimed twice is still assigned once.

A claim takes the locations of the HEADS leads that waited longest (leads mostly arrive a few
per location, interleaved), so what a location batch costs once — the claim, the look-ups of
the location with its plan and of its GHL connection, the DELETE of the finished rows, the
INSERT of the GHL call records — is paid once per claim instead of once per location.

A location whose plan leaves routing out (or whose billing is paused) keeps its leads waiting:
they are looked at again every ENTITLEMENT_RECHECK, without using up attempts, and routed by the
sweep's drain once routing is allowed again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from integrations.ghl.calllog import calls_write
from integrations.ghl.models import GhlCallLog, GhlInstallation
from integrations.sync.engine import locations_installations
from saas_platform.kernel.logging import get_logger
from tenants.entitlements import location_may
from tenants.models import Location

from .assign import leads_assign
from .models import PendingLead, RoutingDecision, RoutingRule

log = get_logger(__name__)

DRAIN_FLAG = "routing:drain-requested"
DRAIN_FLAG_SECONDS = 10  # a drain asked for and lost blocks the next request only this long
LEASE = timedelta(minutes=5)  # a claimed lead is claimable again after this (its drain died)
BATCH = 100  # leads one claim takes (of one location, routed and written together)
HEADS = 10  # a claim takes the locations of this many of the longest-waiting leads
DRAIN_LIMIT = 2000  # then the drain hands over to a new one (a backlog is shared by workers)
BACKOFF = (5, 30, 120, 600, 1800)  # seconds before retry n (the last value repeats)
MAX_ATTEMPTS = 8
ENTITLEMENT_RECHECK = timedelta(minutes=2)

_TABLE = PendingLead._meta.db_table
_ENQUEUE_SQL = f"""
    INSERT INTO {_TABLE} (location_id, contact_ghl_id, queued_at, due_at, attempts)
    SELECT %(location)s, contact, %(now)s, %(now)s, 0
      FROM unnest(%(contacts)s::text[]) WITH ORDINALITY AS c(contact, n)
     WHERE EXISTS (SELECT 1 FROM {RoutingRule._meta.db_table}
                    WHERE location_id = %(location)s AND enabled)
     ORDER BY n
    ON CONFLICT (location_id, contact_ghl_id) DO NOTHING
    RETURNING id
"""  # noqa: S608
# The locations of the HEADS leads that have waited longest, then up to BATCH of their due
# leads, leased.
_CLAIM_SQL = f"""
    WITH head AS (
        SELECT location_id FROM {_TABLE}
         WHERE due_at <= %(now)s
         ORDER BY due_at, id
         LIMIT %(heads)s
           FOR UPDATE SKIP LOCKED
    )
    UPDATE {_TABLE}
       SET due_at = %(lease)s, attempts = attempts + 1
     WHERE id IN (SELECT id FROM {_TABLE}
                   WHERE location_id IN (SELECT location_id FROM head) AND due_at <= %(now)s
                   ORDER BY id
                   LIMIT %(limit)s
                     FOR UPDATE SKIP LOCKED)
    RETURNING id, location_id, contact_ghl_id, attempts
"""  # noqa: S608


@dataclass(frozen=True)
class Claimed:
    id: int
    location_id: int
    contact_ghl_id: str
    attempts: int


def lead_enqueue(*, location: Location, contact_ghl_id: str, now: datetime | None = None) -> bool:
    """Queue a new lead for routing where the location routes leads; True when queued (a lead
    already waiting is not queued twice). A drain is asked for once the row is committed."""
    return leads_enqueue(location=location, contact_ghl_ids=[contact_ghl_id], now=now) == 1


def leads_enqueue(
    *, location: Location, contact_ghl_ids: Sequence[str], now: datetime | None = None
) -> int:
    """`lead_enqueue` for several leads of a location, in one INSERT (queued in the order
    given, a duplicate once) and one drain asked for; returns how many were queued."""
    if not contact_ghl_ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            _ENQUEUE_SQL,
            {
                "location": location.pk,
                "contacts": list(dict.fromkeys(contact_ghl_ids)),
                "now": now or timezone.now(),
            },
        )
        queued = len(cursor.fetchall())
    if queued:
        _drain_on_commit()
    return queued


class _DrainAsk:
    """An after-commit drain request that knows whether it ran (tests run callbacks before
    their transaction ends, so a callback still listed may have run already)."""

    ran = False

    def __call__(self) -> None:
        self.ran = True
        drain_request()


def _drain_on_commit() -> None:
    """One drain request per transaction, however many locations it queued leads for (one
    registered in a savepoint that rolled back is gone from the list: then another is)."""
    pending = transaction.get_connection().run_on_commit
    if not any(isinstance(entry[1], _DrainAsk) and not entry[1].ran for entry in pending):
        transaction.on_commit(_DrainAsk())


def drain_request(*, force: bool = False, countdown: float = 0) -> bool:
    """Publish a drain unless one is already waiting to start; True when one was published."""
    from integrations.tasks import routing_leads_drain

    try:
        if not force and not cache.add(DRAIN_FLAG, 1, timeout=DRAIN_FLAG_SECONDS):
            return False
        if countdown:
            routing_leads_drain.apply_async(countdown=countdown)
        else:
            routing_leads_drain.apply_async()
    except Exception as exc:  # Redis or the broker down: the rows wait for the sweep
        log.error("routing.drain_request_failed", error=str(exc))
        return False
    return True


def _claim(now: datetime, limit: int, heads: int = HEADS) -> list[Claimed]:
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL, {"now": now, "lease": now + LEASE, "limit": limit, "heads": heads}
        )
        rows = [Claimed(*row) for row in cursor.fetchall()]
    return sorted(rows, key=lambda row: row.id)


def leads_drain(
    *, limit: int = DRAIN_LIMIT, batch: int = BATCH, now: datetime | None = None
) -> int:
    """Route and write waiting leads, a location at a time, until none is due (or `limit` were
    taken: then another drain is asked for). Returns how many leads were taken."""
    cache.delete(DRAIN_FLAG)  # a lead queued from now on asks for the next drain
    taken = 0
    while taken < limit:
        claimed = _claim(now or timezone.now(), min(batch, limit - taken))
        if not claimed:
            return taken
        taken += len(claimed)
        _assign_claimed(claimed)
    drain_request(force=True)
    return taken


_DELETE_SQL = f"DELETE FROM {_TABLE} WHERE id = ANY(%s)"  # noqa: S608


def _assign_claimed(claimed: list[Claimed]) -> None:
    """A claim's leads, a location at a time; the locations (with their plans: no query for
    the entitlement checks) and their GHL connections looked up together, the finished rows
    deleted together, the GHL call records written together."""
    by_location: dict[int, list[Claimed]] = {}
    for row in claimed:
        by_location.setdefault(row.location_id, []).append(row)
    locations = Location.objects.unscoped().select_related("agency", "entitlements")
    found = {location.pk: location for location in locations.filter(pk__in=list(by_location))}
    installations = locations_installations(list(found.values()))
    finished: list[int] = []
    calls: list[GhlCallLog] = []
    try:
        for location_id, rows in by_location.items():
            location = found.get(location_id)
            if location is not None:  # else deleted meanwhile (its rows went with it)
                finished += _assign(location, rows, installations, calls)
    finally:
        if finished:
            with connection.cursor() as cursor:
                cursor.execute(_DELETE_SQL, [finished])
        calls_write(calls)


def _assign(
    location: Location,
    rows: list[Claimed],
    installations: dict[int, GhlInstallation],
    calls: list[GhlCallLog],
) -> list[int]:
    """Route and write one location's claimed leads; returns the rows finished with."""
    if not location_may(location=location, feature="routing"):
        _wait_for_plan(location, rows)
        return []
    try:
        outcome = leads_assign(
            location=location,
            contact_ghl_ids=[r.contact_ghl_id for r in rows],
            installations=installations,
            calls=calls,
        )
    except Exception as exc:  # the rows stay leased: tried again once the lease runs out
        log.exception("routing.batch_failed", location_id=location.pk, error=str(exc))
        _give_up(location, [r for r in rows if r.attempts >= MAX_ATTEMPTS], str(exc))
        return []
    retry = set(outcome.retry)
    later = [r for r in rows if r.contact_ghl_id in retry]
    if later:
        _retry_later(location, later, str(outcome.transient))
    return [r.id for r in rows if r.contact_ghl_id not in retry]


def _wait_for_plan(location: Location, rows: list[Claimed]) -> None:
    """Routing not in the plan (or paused): the leads wait, their attempts given back."""
    log.info("routing.waiting_for_plan", location_id=location.pk, leads=len(rows))
    PendingLead.objects.for_location(location).filter(id__in=[r.id for r in rows]).update(
        due_at=timezone.now() + ENTITLEMENT_RECHECK, attempts=F("attempts") - 1
    )


def _retry_later(location: Location, rows: list[Claimed], error: str) -> None:
    log.warning("routing.write_deferred", location_id=location.pk, leads=len(rows), error=error)
    _give_up(location, [r for r in rows if r.attempts >= MAX_ATTEMPTS], error)
    waiting = [r for r in rows if r.attempts < MAX_ATTEMPTS]
    if not waiting:
        return
    wait = BACKOFF[min(max(r.attempts for r in waiting), len(BACKOFF)) - 1]
    PendingLead.objects.for_location(location).filter(id__in=[r.id for r in waiting]).update(
        due_at=timezone.now() + timedelta(seconds=wait)
    )
    drain_request(force=True, countdown=wait)


def _give_up(location: Location, rows: list[Claimed], error: str) -> None:
    if not rows:
        return
    contacts = [r.contact_ghl_id for r in rows]
    RoutingDecision.objects.for_location(location).filter(
        contact_ghl_id__in=contacts, is_current=True, ghl_written_at__isnull=True
    ).update(ghl_error=f"GHL could not be reached after {MAX_ATTEMPTS} attempts: {error}"[:2000])
    PendingLead.objects.for_location(location).filter(id__in=[r.id for r in rows]).delete()


def leads_sweep(*, now: datetime | None = None) -> int:
    """Ask for a drain when leads are due and no drain took them (a lost drain, a lease run
    out). Returns how many leads are due."""
    due = PendingLead.objects.unscoped().filter(due_at__lte=now or timezone.now()).count()
    if due:
        drain_request(force=True)
    return due
