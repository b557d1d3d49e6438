"""What the sync reads from GHL, one page at a time, with cursors that survive a restart.

Each entity knows how to fetch the page that follows a cursor (a JSON-able dict) and returns the
records, the cursor of the next page (None: done) and GHL's total when it tells it. The engine
commits each page's rows together with the next cursor, so a killed worker resumes where it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from integrations.ghl import operations as ops
from integrations.ghl.client import GhlClient

CONTACTS_PAGE = 500  # GHL's largest contact-search page
OPPORTUNITIES_PAGE = 100
CONVERSATIONS_PAGE = 100
# Appointments are read in a window around today (GHL lists events by time range only).
APPOINTMENTS_PAST = timedelta(days=90)
APPOINTMENTS_FUTURE = timedelta(days=180)
# Incremental passes look a little before the watermark: GHL's clock and ours are not one.
WATERMARK_OVERLAP = timedelta(minutes=2)


@dataclass(frozen=True)
class Page:
    records: list[dict[str, Any]]
    next_cursor: dict[str, Any] | None
    total: int | None = None


@dataclass(frozen=True)
class FetchContext:
    client: GhlClient
    location_id: str  # GHL's id
    since: datetime | None = None  # incremental: changes after this


Fetch = Callable[[FetchContext, dict[str, Any]], Page]


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{value.microsecond // 1000:03d}Z"
    )


def fetch_users(ctx: FetchContext, cursor: dict[str, Any]) -> Page:
    body = ctx.client.run(ops.users_of_location(location_id=ctx.location_id))
    users = list(body.get("users") or [])
    return Page(users, None, len(users))


def fetch_pipelines(ctx: FetchContext, cursor: dict[str, Any]) -> Page:
    body = ctx.client.run(ops.pipelines(location_id=ctx.location_id))
    pipelines = list(body.get("pipelines") or [])
    return Page(pipelines, None, len(pipelines))


def fetch_contacts(ctx: FetchContext, cursor: dict[str, Any]) -> Page:
    """All contacts by date added (backfill, reconcile), or those changed since the watermark
    (incremental: one request when nothing changed)."""
    filters, sort_field = None, "dateAdded"
    if ctx.since is not None:
        sort_field = "dateUpdated"
        since = _iso(ctx.since - WATERMARK_OVERLAP)
        filters = [{"field": "dateUpdated", "operator": "range", "value": {"gte": since}}]
    body = ctx.client.run(
        ops.contacts_search(
            location_id=ctx.location_id,
            page_limit=CONTACTS_PAGE,
            search_after=cursor.get("after"),
            filters=filters,
            sort=[{"field": sort_field, "direction": "asc"}],
        )
    )
    contacts = list(body.get("contacts") or [])
    last = contacts[-1].get("searchAfter") if contacts else None
    following = {"after": list(last)} if len(contacts) == CONTACTS_PAGE and last else None
    return Page(contacts, following, body.get("total"))


def fetch_opportunities(ctx: FetchContext, cursor: dict[str, Any]) -> Page:
    body = ctx.client.run(
        ops.opportunities_search(
            location_id=ctx.location_id, limit=OPPORTUNITIES_PAGE, search_after=cursor.get("after")
        )
    )
    items = list(body.get("opportunities") or [])
    last = items[-1].get("sort") if items else None
    # GHL's spec types the opportunity cursor as strings, whatever the sort values are.
    following = (
        {"after": [str(v) for v in last]} if len(items) == OPPORTUNITIES_PAGE and last else None
    )
    return Page(items, following, body.get("total"))


def fetch_appointments(ctx: FetchContext, cursor: dict[str, Any]) -> Page:
    """One calendar per page: the list of calendars is read once and kept in the cursor."""
    calendars = cursor.get("calendars")
    if calendars is None:
        body = ctx.client.run(ops.calendars(location_id=ctx.location_id))
        calendars = [c["id"] for c in body.get("calendars") or [] if c.get("id")]
        if not calendars:
            return Page([], None, 0)
    now = timezone.now()
    start = int(cursor.get("start") or (now - APPOINTMENTS_PAST).timestamp() * 1000)
    end = int(cursor.get("end") or (now + APPOINTMENTS_FUTURE).timestamp() * 1000)
    current, rest = calendars[0], calendars[1:]
    body = ctx.client.run(
        ops.calendar_events(
            location_id=ctx.location_id, calendar_id=current, start_ms=start, end_ms=end
        )
    )
    events = list(body.get("events") or [])
    following = {"calendars": rest, "start": start, "end": end} if rest else None
    return Page(events, following)


def fetch_conversations(ctx: FetchContext, cursor: dict[str, Any]) -> Page:
    body = ctx.client.run(
        ops.conversations_search(
            location_id=ctx.location_id,
            limit=CONVERSATIONS_PAGE,
            start_after_date=cursor.get("after"),
        )
    )
    items = list(body.get("conversations") or [])
    more = len(items) == CONVERSATIONS_PAGE and items[-1].get("lastMessageDate") is not None
    following = {"after": int(items[-1]["lastMessageDate"])} if more else None
    return Page(items, following, body.get("total"))


@dataclass(frozen=True)
class Entity:
    name: str  # cursor and progress key
    kind: str  # mirror table (integrations.mirror.writer kinds)
    fetch: Fetch
    # Reconciliation may delete mirror rows GHL no longer lists (not for windowed reads).
    complete_listing: bool = True


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        Entity("users", "user", fetch_users),
        Entity("pipelines", "pipeline", fetch_pipelines),
        Entity("contacts", "contact", fetch_contacts),
        Entity("opportunities", "opportunity", fetch_opportunities),
        Entity("appointments", "appointment", fetch_appointments, complete_listing=False),
        Entity("conversations", "conversation", fetch_conversations),
    )
}

# What each kind of run reads. Incremental reads only what GHL can filter by change time
# (contacts); everything else arrives by webhook and is checked by the reconciliation.
EVERYTHING = ("users", "pipelines", "contacts", "opportunities", "appointments")
PLANS: dict[str, tuple[str, ...]] = {
    "backfill": (*EVERYTHING, "conversations"),
    "incremental": ("contacts",),
    "reconcile": EVERYTHING,
}
