"""`mirror_upsert` / `mirror_delete` rules on real PostgreSQL: newer wins, identical data is not
rewritten, deletions leave tombstones, bad batches write nothing, and one location's writes never
reach another's rows — each rule both for records written from an inline VALUES list (a few, as
webhooks bring them) and through the staging table (pages)."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from integrations.mirror import writer
from integrations.mirror.mapping import InvalidRecordsError
from integrations.mirror.models import (
    MirrorAppointment,
    MirrorContact,
    MirrorTombstone,
    MirrorUser,
)
from integrations.mirror.writer import WriteResult, mirror_delete
from tenants.models import Location
from tests.conftest import World
from tests.integrations.mirror.conftest import Xmin
from tests.integrations.mirror.helpers import (
    CONTACTS,
    NAIVE,
    T0,
    contact,
    iso,
    stored,
    tombstone,
    upsert,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True, params=["inline", "staged"])
def write_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "staged":
        monkeypatch.setattr(writer, "INLINE_ROWS", 0)
    return str(request.param)


# --- ordering: newer wins, older is stale, identical is unchanged ------------------------------


def test_newer_wins_and_older_is_stale(dubai: Location) -> None:
    upsert(dubai, [contact(at=T0, firstName="First")])
    assert upsert(dubai, [contact(at=T0 + timedelta(minutes=1), firstName="Newer")]) == WriteResult(
        0, 1, 0, 0, 0
    )
    assert upsert(dubai, [contact(at=T0 + timedelta(seconds=30), firstName="Late")]) == WriteResult(
        0, 0, 0, 1, 0
    )
    row = stored(dubai)
    assert (row.first_name, row.ghl_updated_at) == ("Newer", T0 + timedelta(minutes=1))
    # Same change time, different data: not older, so written.
    assert (
        upsert(dubai, [contact(at=T0 + timedelta(minutes=1), firstName="Same time")]).updated == 1
    )
    # A newer time with the same data is still recorded: it orders later writes.
    assert upsert(dubai, [contact(at=T0 + timedelta(hours=1), firstName="Same time")]).updated == 1
    assert upsert(dubai, [contact(at=T0 + timedelta(minutes=30), firstName="Between")]).stale == 1
    assert stored(dubai).first_name == "Same time"


def test_undated_records(dubai: Location) -> None:
    """An undated row is overwritten by anything; an undated record never beats a dated row."""
    upsert(dubai, [{"id": "u1", "firstName": "A"}], "user")
    assert upsert(dubai, [{"id": "u1", "firstName": "B"}], "user").updated == 1
    assert upsert(dubai, [{"id": "u1", "firstName": "C"}], "user", changed_at=T0).updated == 1
    assert upsert(dubai, [{"id": "u1", "firstName": "D"}], "user").stale == 1
    user = MirrorUser.objects.for_location(dubai).get(ghl_id="u1")
    assert (user.first_name, user.ghl_updated_at) == ("C", T0)


def test_identical_rewrite_changes_nothing(world: World, xmin: Xmin) -> None:
    """Each write runs in a savepoint of the test's transaction, so a row version it creates
    carries that subtransaction's id in `xmin`: an unchanged `xmin` means no new row version."""
    location = world.a.locations[0]
    records = [
        contact(f"c{i}", tags=["a", "b"], customFields=[{"id": "f", "value": i}]) for i in range(3)
    ]
    assert upsert(location, records).inserted == 3
    before = {r["id"]: xmin(CONTACTS, location.id, r["id"]) for r in records}
    synced = stored(location, "c0").synced_at
    assert upsert(location, copy.deepcopy(records)) == WriteResult(0, 0, 3, 0, 0)
    assert {r["id"]: xmin(CONTACTS, location.id, r["id"]) for r in records} == before
    assert stored(location, "c0").synced_at == synced
    changed = [contact("c0", tags=["a", "b", "c"], customFields=[{"id": "f", "value": 0}])]
    assert upsert(location, changed + copy.deepcopy(records[1:])) == WriteResult(0, 1, 2, 0, 0)
    assert xmin(CONTACTS, location.id, "c0") != before["c0"]
    assert xmin(CONTACTS, location.id, "c1") == before["c1"]
    assert stored(location, "c0").synced_at > synced


def test_duplicates_in_a_batch_keep_the_newest(dubai: Location) -> None:
    batch = [
        contact("c1", at=T0, firstName="old"),
        contact("c1", at=T0 + timedelta(minutes=5), firstName="newest"),
        contact("c1", at=T0 + timedelta(minutes=1), firstName="middle"),
        contact("c2", at=T0, firstName="first"),
        contact("c2", at=T0, firstName="second, same time"),
    ]
    assert upsert(dubai, batch) == WriteResult(2, 0, 0, 3, 0)
    assert stored(dubai, "c1").first_name == "newest"
    assert stored(dubai, "c2").first_name == "second, same time"


# --- deletions and tombstones -------------------------------------------------------------------


def test_delete_then_stale_update_refused_then_newer_restores(dubai: Location) -> None:
    upsert(dubai, [contact("c1", at=T0), contact("c2", at=T0)])
    deleted_at = T0 + timedelta(hours=1)
    assert (
        mirror_delete(
            location_id=dubai.id,
            kind="contact",
            ghl_ids=["c1", "c1", "gone"],
            deleted_at=deleted_at,
        )
        == 1
    )
    assert not MirrorContact.objects.for_location(dubai).filter(ghl_id="c1").exists()
    assert MirrorContact.objects.for_location(dubai).filter(ghl_id="c2").exists()
    assert tombstone(dubai, "c1").ghl_updated_at == deleted_at  # type: ignore[union-attr]
    assert tombstone(dubai, "gone") is not None  # deleted before we ever saw it

    # A late update from before the deletion (or at the same instant) does not resurrect it.
    assert upsert(dubai, [contact("c1", at=T0 + timedelta(minutes=59))]) == WriteResult(
        0, 0, 0, 1, 0
    )
    assert upsert(dubai, [contact("c1", at=deleted_at)]).stale == 1
    assert upsert(dubai, [{"id": "c1", "firstName": "undated"}]).stale == 1
    assert not MirrorContact.objects.for_location(dubai).filter(ghl_id="c1").exists()

    # An older deletion does not move the tombstone back.
    mirror_delete(location_id=dubai.id, kind="contact", ghl_ids=["c1"], deleted_at=T0)
    assert tombstone(dubai, "c1").ghl_updated_at == deleted_at  # type: ignore[union-attr]

    # Changed after the deletion: GHL restored it.
    assert (
        upsert(
            dubai, [contact("c1", at=deleted_at + timedelta(seconds=1), firstName="Back")]
        ).inserted
        == 1
    )
    assert stored(dubai, "c1").first_name == "Back"
    assert tombstone(dubai, "c1") is None


def test_delete_removes_whatever_the_rows_change_time(dubai: Location) -> None:
    """An erasure at our `now` must not depend on GHL's clock; the tombstone still only refuses
    what is not newer than the deletion."""
    upsert(dubai, [contact("c1", at=T0 + timedelta(hours=2))])
    assert mirror_delete(location_id=dubai.id, kind="contact", ghl_ids=["c1"], deleted_at=T0) == 1
    assert not MirrorContact.objects.for_location(dubai).exists()
    assert upsert(dubai, [contact("c1", at=T0 + timedelta(hours=2))]).inserted == 1


def test_tombstones_are_per_kind(dubai: Location) -> None:
    upsert(dubai, [contact("same-id", at=T0)])
    upsert(dubai, [{"id": "same-id", "dateUpdated": iso(T0)}], "appointment")
    mirror_delete(
        location_id=dubai.id,
        kind="appointment",
        ghl_ids=["same-id"],
        deleted_at=T0 + timedelta(hours=1),
    )
    assert upsert(dubai, [contact("same-id", at=T0 + timedelta(minutes=1))]).updated == 1
    assert not MirrorAppointment.objects.for_location(dubai).exists()


def test_records_ghl_marks_deleted(dubai: Location) -> None:
    upsert(
        dubai,
        [{"id": "u1", "firstName": "A"}, {"id": "u2", "firstName": "B"}],
        "user",
        changed_at=T0,
    )
    later = T0 + timedelta(minutes=1)
    result = upsert(
        dubai,
        [
            {"id": "u1", "firstName": "A", "deleted": True},
            {"id": "u2", "firstName": "B2", "deleted": False},
        ],
        "user",
        changed_at=later,
    )
    assert result == WriteResult(0, 1, 0, 0, 1)
    assert list(MirrorUser.objects.for_location(dubai).values_list("ghl_id", flat=True)) == ["u2"]
    assert tombstone(dubai, "u1", "user").ghl_updated_at == later  # type: ignore[union-attr]


# --- bad input writes nothing ------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"firstName": "no id"},
        {"id": "c9", "tags": "not-a-list"},
        {"id": "c9", "dateUpdated": "yesterday"},
        {"id": "c9", "customFields": [{"id": "f", "value": float("nan")}]},
        "not an object",
    ],
)
def test_bad_input_raises_and_writes_nothing(dubai: Location, bad: Any) -> None:
    upsert(dubai, [contact("c1", at=T0, firstName="Kept")])
    mirror_delete(location_id=dubai.id, kind="contact", ghl_ids=["t1"], deleted_at=T0)
    with pytest.raises(InvalidRecordsError) as caught:
        upsert(
            dubai,
            [
                contact("c1", at=T0 + timedelta(hours=1), firstName="Lost"),
                contact("t1", at=T0 + timedelta(hours=1)),
                bad,
            ],
        )
    assert caught.value.problems[0].index == 2
    assert stored(dubai, "c1").first_name == "Kept"
    assert MirrorContact.objects.for_location(dubai).count() == 1
    assert tombstone(dubai, "t1") is not None
    # The caller's transaction is still usable.
    assert upsert(dubai, [contact("c2")]).inserted == 1


def test_a_database_error_rolls_back_to_the_callers_savepoint(dubai: Location) -> None:
    """Errors surface before anything is written (an unknown location, an unknown kind), and a
    failing write inside the caller's nested atomic block takes only that block's rows back."""
    with pytest.raises(LookupError):
        upsert(Location(id=987654321), [contact("c1")])
    with pytest.raises(ValueError, match="unknown mirror kind"):
        upsert(dubai, [contact("c1")], kind="contacts")
    with transaction.atomic():
        upsert(dubai, [contact("c1")])
        with pytest.raises(InvalidRecordsError), transaction.atomic():
            upsert(dubai, [contact("c2")])
            upsert(dubai, [{"id": None}])
    assert list(MirrorContact.objects.for_location(dubai).values_list("ghl_id", flat=True)) == [
        "c1"
    ]


def test_delete_validates_ids(dubai: Location) -> None:
    upsert(dubai, [contact("c1")])
    with pytest.raises(InvalidRecordsError, match="#1"):
        mirror_delete(location_id=dubai.id, kind="contact", ghl_ids=["c1", ""], deleted_at=T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        mirror_delete(location_id=dubai.id, kind="contact", ghl_ids=["c1"], deleted_at=NAIVE)
    assert MirrorContact.objects.for_location(dubai).count() == 1
    assert not MirrorTombstone.objects.for_location(dubai).exists()


# --- scoping -----------------------------------------------------------------------------------


def test_locations_never_touch_each_others_rows(world: World) -> None:
    a, b = world.a.locations[0], world.b.locations[1]
    upsert(a, [contact("shared", at=T0, firstName="A")])
    upsert(b, [contact("shared", at=T0, firstName="B")])
    assert upsert(a, [contact("shared", at=T0 + timedelta(hours=1), firstName="A2")]).updated == 1
    assert stored(b, "shared").first_name == "B"
    # B's newer row does not make A's older record stale, nor the reverse.
    assert upsert(b, [contact("shared", at=T0 + timedelta(minutes=1), firstName="B2")]).updated == 1
    mirror_delete(
        location_id=a.id, kind="contact", ghl_ids=["shared"], deleted_at=T0 + timedelta(days=1)
    )
    assert stored(b, "shared").first_name == "B2"
    assert tombstone(b, "shared") is None
    assert upsert(b, [contact("shared", at=T0 + timedelta(hours=2), firstName="B3")]).updated == 1
    assert not MirrorContact.objects.for_location(a).exists()


def test_records_naming_another_ghl_location_are_refused(dubai: Location) -> None:
    with pytest.raises(InvalidRecordsError, match="belongs to location"):
        upsert(dubai, [contact("c1", locationId="DemoLocBoltPlumb0001")])
    assert not MirrorContact.objects.for_location(dubai).exists()


def test_empty_batches(dubai: Location) -> None:
    assert upsert(dubai, []) == WriteResult(0, 0, 0, 0, 0)
    assert mirror_delete(location_id=dubai.id, kind="contact", ghl_ids=[], deleted_at=T0) == 0


# --- encoding and large batches -----------------------------------------------------------------


def test_a_large_batch_mixing_every_outcome(dubai: Location) -> None:
    n = 1200
    upsert(dubai, [contact(f"c{i:05}", at=T0, firstName=f"v1-{i}") for i in range(n)])
    mirror_delete(
        location_id=dubai.id, kind="contact", ghl_ids=["c00000"], deleted_at=T0 + timedelta(hours=1)
    )
    later, earlier = T0 + timedelta(minutes=5), T0 - timedelta(minutes=5)
    batch = (
        [contact(f"c{i:05}", at=later, firstName=f"v2-{i}") for i in range(1, 400)]  # updated
        + [contact(f"c{i:05}", at=earlier, firstName="old") for i in range(400, 700)]  # stale
        + [contact(f"c{i:05}", at=T0, firstName=f"v1-{i}") for i in range(700, n)]  # unchanged
        + [contact(f"n{i:05}", at=T0) for i in range(300)]  # inserted
        + [contact("c00000", at=T0 + timedelta(minutes=30))]  # tombstoned: stale
        + [contact("n00000", at=earlier)]  # duplicate in the batch, older: stale
    )
    result = upsert(dubai, batch)
    assert result == WriteResult(inserted=300, updated=399, unchanged=500, stale=302, deleted=0)
    assert sum((result.inserted, result.updated, result.unchanged, result.stale)) == len(batch)
    names = dict(MirrorContact.objects.for_location(dubai).values_list("ghl_id", "first_name"))
    assert (names["c00001"], names["c00400"], names["c00700"]) == ("v2-1", "v1-400", "v1-700")
    assert "c00000" not in names and len(names) == n - 1 + 300


def test_deletions_at_scale_and_deleted_records_older_than_the_row(dubai: Location) -> None:
    ids = [f"c{i:04}" for i in range(500)]
    upsert(dubai, [contact(i, at=T0) for i in ids])
    removed = mirror_delete(
        location_id=dubai.id, kind="contact", ghl_ids=ids[:300], deleted_at=T0 + timedelta(hours=1)
    )
    assert removed == 300
    assert MirrorContact.objects.for_location(dubai).count() == 200
    assert MirrorTombstone.objects.for_location(dubai).filter(kind="contact").count() == 300
    # GHL's `deleted: true` older than what is stored does not remove the row.
    upsert(dubai, [{"id": "u1", "firstName": "A"}], "user", changed_at=T0 + timedelta(hours=1))
    late = upsert(dubai, [{"id": "u1", "deleted": True}], "user", changed_at=T0)
    assert late == WriteResult(0, 0, 0, 1, 0)
    assert MirrorUser.objects.for_location(dubai).filter(ghl_id="u1").exists()


def test_naive_change_times_are_refused(dubai: Location) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        upsert(dubai, [contact()], changed_at=NAIVE)
    assert not MirrorContact.objects.for_location(dubai).exists()


def test_a_webhooks_few_records_create_no_staging_table(dubai: Location, write_path: str) -> None:
    """A temporary table per webhook would churn the system catalogs at webhook rates."""
    with CaptureQueriesContext(connection) as queries:
        upsert(dubai, [contact("c1", T0, firstName="Mona")])
    created = [q["sql"] for q in queries.captured_queries if "CREATE TEMPORARY" in q["sql"]]
    assert bool(created) == (write_path == "staged")
    assert stored(dubai, "c1").first_name == "Mona"
