"""contacts_search over the real database: search, each filter, every order walked page by page
with the keyset cursor, and other locations never in reach."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.db.models import F

from integrations.mirror.models import MirrorContact, contact_search_text, contact_sort_name
from integrations.portal.contact_search import (
    SORTS,
    UNASSIGNED,
    ContactFilters,
    contacts_search,
)
from tenants.models import Location
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


@pytest.fixture
def place(world: World) -> Location:
    """Location A1 in Dubai (UTC+4) with six contacts; B1 holds a look-alike that must never
    show up."""
    location = world.a.locations[0]
    Location.objects.unscoped().filter(pk=location.pk).update(timezone="Asia/Dubai")
    location.refresh_from_db()
    make = factories.MirrorContactFactory
    make(
        location=location,
        ghl_id="c1",
        first_name="Amal",
        last_name="Haddad",
        email="amal@example.test",
        phone="+15550102030",
        tags=["vip", "buyer"],
        source="Website",
        assigned_to="u1",
        date_added=at(1),
        ghl_updated_at=at(9),
    )
    make(
        location=location,
        ghl_id="c2",
        first_name="Bilal",
        last_name="Khan",
        email="bilal@khan.test",
        phone="+971501234567",
        tags=["buyer"],
        source="Facebook",
        assigned_to="u2",
        date_added=at(2),
        ghl_updated_at=at(8),
    )
    # 21:30 UTC on the 2nd is 01:30 on the 3rd in Dubai.
    make(
        location=location,
        ghl_id="c3",
        first_name="Chloe",
        last_name="Amalfi",
        email="chloe@example.test",
        phone="",
        tags=[],
        source="Website",
        assigned_to="",
        date_added=at(2, 21),
        ghl_updated_at=at(7),
    )
    make(
        location=location,
        ghl_id="c4",
        first_name="",
        last_name="",
        email="nobody@x.test",
        source="",
        assigned_to="u1",
        date_added=at(4),
        ghl_updated_at=None,
    )
    make(
        location=location,
        ghl_id="c5",
        first_name="dana",
        last_name="Amal",
        email="d@example.test",
        source="Website",
        date_added=None,
        ghl_updated_at=at(6),
    )
    make(
        location=location,
        ghl_id="c6",
        first_name="Amal",
        last_name="Haddad",
        email="amal2@example.test",
        source="Website",
        date_added=at(1),
        ghl_updated_at=at(5),
    )
    make(
        location=world.b.locations[0],
        ghl_id="b1",
        first_name="Amal",
        last_name="Haddad",
        email="amal@example.test",
        tags=["vip"],
        source="Website",
        date_added=at(1),
    )
    return location  # fmt: skip


def ids(location: Location, **filters: object) -> list[str]:
    page = contacts_search(location=location, filters=ContactFilters(**filters), limit=100)  # type: ignore[arg-type]
    return [c.ghl_id for c in page.contacts]


def test_search_matches_every_word_in_name_email_or_phone(place: Location) -> None:
    assert sorted(ids(place, q="amal")) == ["c1", "c3", "c5", "c6"]  # Amal, Amalfi, dana Amal
    assert ids(place, q="AMAL haddad", sort="name") == ["c1", "c6"]
    assert ids(place, q="khan.test") == ["c2"]
    assert ids(place, q="(555) 010-2030") == ["c1"]  # a formatted phone finds the E.164 one
    assert ids(place, q="050 123") == []  # digits must be adjacent in the stored number
    assert ids(place, q="501234") == ["c2"]
    assert ids(place, q="100%") == []  # wildcards are plain characters
    assert ids(place, q="zzz") == []


def test_each_filter(place: Location) -> None:
    assert sorted(ids(place, tag="buyer")) == ["c1", "c2"]
    assert ids(place, tag="vip") == ["c1"]  # B's vip stays in B
    assert sorted(ids(place, source="Facebook")) == ["c2"]
    assert sorted(ids(place, agent="u1")) == ["c1", "c4"]
    assert sorted(ids(place, agent=UNASSIGNED)) == ["c3", "c5", "c6"]
    # Dates are the location's calendar days: c3 was added on the 3rd in Dubai.
    assert sorted(ids(place, created_from=date(2026, 3, 3))) == ["c3", "c4"]
    assert sorted(ids(place, created_to=date(2026, 3, 2))) == ["c1", "c2", "c6"]
    assert ids(place, created_from=date(2026, 3, 3), created_to=date(2026, 3, 3)) == ["c3"]
    assert ids(place, q="amal", source="Website", agent=UNASSIGNED, sort="name") == [
        "c6", "c3", "c5"
    ]  # fmt: skip


def test_the_orders(place: Location) -> None:
    # Dateless contacts come first among the newest (the index's own order), last among the oldest.
    assert ids(place) == ["c5", "c4", "c3", "c2", "c6", "c1"]
    assert ids(place, sort="oldest") == ["c1", "c6", "c2", "c3", "c4", "c5"]
    assert ids(place, sort="name") == ["c1", "c6", "c2", "c3", "c5", "c4"]  # nameless last
    assert ids(place, sort="updated") == ["c4", "c1", "c2", "c3", "c5", "c6"]


@pytest.mark.parametrize("sort", list(SORTS))
@pytest.mark.parametrize("size", [1, 2, 4])
def test_walking_the_pages_gives_every_contact_once_in_order(
    place: Location, sort: str, size: int
) -> None:
    everything = ids(place, sort=sort)
    walked: list[str] = []
    after, pages = "", 0
    while True:
        page = contacts_search(
            location=place, filters=ContactFilters(sort=sort), after=after, limit=size
        )
        assert page.is_first == (after == "")
        walked += [c.ghl_id for c in page.contacts]
        pages += 1
        if not page.next_cursor:
            break
        after = page.next_cursor
    assert walked == everything
    assert pages == -(-len(everything) // size)


def test_a_broken_cursor_starts_from_the_first_page(place: Location) -> None:
    for cursor in ("nonsense", "W10", "eyJ4IjoxfQ", "WyJub3QtYS1kYXRlIiwxXQ"):
        page = contacts_search(location=place, filters=ContactFilters(), after=cursor, limit=2)
        assert page.is_first and [c.ghl_id for c in page.contacts] == ["c5", "c4"]


def test_the_search_expression_is_the_indexed_one(place: Location) -> None:
    """PostgreSQL uses an expression index only for the identical expression: with the other
    ways priced out, matching the search text across the table must read the trigram index."""
    queryset = (
        MirrorContact.objects.unscoped()
        .alias(haystack=contact_search_text())
        .filter(haystack__contains="amal")
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = queryset.explain()
    assert "mirror_contact_search" in plan


def test_the_name_order_is_the_indexed_one(place: Location) -> None:
    """Ordering by name reads `mirror_contact_name` instead of sorting every contact."""
    page = MirrorContact.objects.for_location(place).annotate(sort_name=contact_sort_name())
    ordered = page.order_by(F("sort_name").asc(nulls_last=True), "pk")[:50]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        plan = ordered.explain()
    assert "mirror_contact_name" in plan
