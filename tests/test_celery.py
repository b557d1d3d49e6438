"""Celery: named queues, one schedule, tasks enqueued on commit and run by a real worker over the
Redis broker."""

import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from celery.fixups.django import DjangoWorkerFixup
from celery.signals import task_prerun
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from saas_platform.celery import app
from saas_platform.schedule import CELERY_BEAT_SCHEDULE, CELERY_TASK_ROUTES, QUEUES
from saas_platform.tasks import sessions_clear_expired


def test_every_scheduled_task_exists_and_every_route_names_a_known_queue() -> None:
    app.loader.import_default_modules()
    for name, entry in CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, f"schedule {name!r} names an unknown task"
    for pattern, route in CELERY_TASK_ROUTES.items():
        assert route["queue"] in QUEUES, pattern
    assert app.conf.broker_url.startswith("redis://")


def test_tasks_are_routed_to_their_queue() -> None:
    router = app.amqp.router
    assert router.route({}, "tenants.tasks.agency_domain_check")["queue"].name == "default"
    assert router.route({}, "saas_platform.tasks.sessions_clear_expired")["queue"].name == (
        "maintenance"
    )


def _session(expires_in: timedelta) -> str:
    store = SessionStore()
    store["probe"] = True
    store.set_expiry(int(expires_in.total_seconds()))
    store.create()
    Session.objects.filter(session_key=store.session_key).update(
        expire_date=timezone.now() + expires_in
    )
    return str(store.session_key)


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_task_from_the_redis_broker(settings) -> None:  # type: ignore[no-untyped-def]
    expired = [_session(timedelta(days=-1)) for _ in range(3)]
    alive = _session(timedelta(days=1))
    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, queues=["maintenance"]):
            sessions_clear_expired.delay()
            deadline = time.monotonic() + 20
            while Session.objects.filter(session_key__in=expired).exists():
                assert time.monotonic() < deadline, "the worker did not run the task"
                time.sleep(0.1)
    finally:
        app.conf.task_always_eager = True
    assert Session.objects.filter(session_key=alive).exists()


class _WorkerTask:
    """What Celery's signals pass as the task of a message run by a worker (not eagerly)."""

    class request:
        is_eager = False


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_a_worker_keeps_its_database_connection_from_task_to_task() -> None:
    fixup = DjangoWorkerFixup(app)
    before = _backend_pid()
    for _ in range(20):
        fixup.on_task_prerun(sender=_WorkerTask)
        task_prerun.send(sender=_WorkerTask, task=_WorkerTask)
        fixup.on_task_postrun(sender=_WorkerTask)
    assert _backend_pid() == before


@pytest.mark.django_db(transaction=True)
def test_a_connection_past_its_age_is_replaced_before_the_next_task() -> None:
    before = _backend_pid()
    connection.close_at = time.monotonic() - 1
    task_prerun.send(sender=_WorkerTask, task=_WorkerTask)
    assert _backend_pid() != before
