"""The tenant event outbox: rows only for wanted events, written in the caller's transaction,
and consumers told once per commit (never for a rollback)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from tenants import events
from tenants.models import TenantEvent
from tests.conftest import World

pytestmark = pytest.mark.django_db


@pytest.fixture
def told() -> Any:
    calls: list[Any] = []

    def listener(**kwargs: Any) -> None:
        calls.append(kwargs)

    events.events_published.connect(listener)
    yield calls
    events.events_published.disconnect(listener)


def test_published_events_are_announced_once_per_commit(
    world: World, told: list[Any], django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(events, "_wanted", [lambda location_id, event_type: True])
    location = world.a.locations[0]
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for n in range(3):
            events.event_publish(location=location, event_type="x.happened", data={"n": n})
    assert len(told) == 1
    assert TenantEvent.objects.for_location(location).count() == 3


def test_publishes_after_an_executed_announcement_are_announced_again(
    world: World, told: list[Any], django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    """Captured callbacks that ran stay in the connection's list for the rest of the test's
    transaction: a later publish, or one made by a callback run in the same captured block (an
    eager task that publishes in turn), is still announced."""
    monkeypatch.setattr(events, "_wanted", [lambda location_id, event_type: True])
    location = world.a.locations[0]

    def task_publishing_in_turn() -> None:
        events.event_publish(location=location, event_type="y.followed", data={})

    with django_capture_on_commit_callbacks(execute=True):
        events.event_publish(location=location, event_type="x.happened", data={})
        transaction.on_commit(task_publishing_in_turn)
    assert len(told) == 2
    with django_capture_on_commit_callbacks(execute=True):
        events.event_publish(location=location, event_type="x.happened", data={"again": True})
    assert len(told) == 3
    assert TenantEvent.objects.for_location(location).count() == 3


def test_an_announcement_rolled_back_with_its_savepoint_is_registered_again(
    world: World, told: list[Any], django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(events, "_wanted", [lambda location_id, event_type: True])
    location = world.a.locations[0]
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            events.event_publish(location=location, event_type="x.lost", data={})
            raise RuntimeError
        events.event_publish(location=location, event_type="x.kept", data={})
        events.event_publish(location=location, event_type="x.kept", data={})
    assert len(told) == 1
    rows = TenantEvent.objects.for_location(location).values_list("type", flat=True)
    assert list(rows) == ["x.kept", "x.kept"]


def test_a_rolled_back_change_leaves_no_event_and_no_announcement(
    world: World, told: list[Any], django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(events, "_wanted", [lambda location_id, event_type: True])
    location = world.a.locations[0]
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        events.event_publish(location=location, event_type="x.happened", data={})
        raise RuntimeError
    assert told == [] and not TenantEvent.objects.for_location(location).exists()


def test_unwanted_events_write_nothing(world: World, monkeypatch: Any) -> None:
    monkeypatch.setattr(events, "_wanted", [lambda location_id, event_type: False])
    assert events.event_publish(location=world.a.locations[0], event_type="x", data={}) is None
    assert not TenantEvent.objects.for_location(world.a.locations[0]).exists()


def test_a_batch_of_events_is_one_look_and_one_insert(
    world: World, told: list[Any], django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    looks: list[tuple[int, str]] = []

    def wanted(location_id: int, event_type: str) -> bool:
        looks.append((location_id, event_type))
        return True

    monkeypatch.setattr(events, "_wanted", [wanted])
    location = world.a.locations[0]
    datas = [{"n": n} for n in range(5)]
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        assert events.events_publish_many(location=location, event_type="x", datas=datas) == 5
    assert looks == [(location.pk, "x")] and len(told) == 1
    rows = TenantEvent.objects.for_location(location).values_list("data", flat=True)
    assert sorted(row["n"] for row in rows) == [0, 1, 2, 3, 4]
    monkeypatch.setattr(events, "_wanted", [lambda location_id, event_type: False])
    assert events.events_publish_many(location=location, event_type="x", datas=datas) == 0
    assert TenantEvent.objects.for_location(location).count() == 5
