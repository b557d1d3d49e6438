"""The Celery app. Tasks live in each app's `tasks.py`; queues and the periodic schedule are
declared once, in `saas_platform.schedule`."""

import functools
import inspect
import os
from typing import Any

import structlog
from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas_platform.settings.local")

# With Django configured, Celery gives tasks `delay_on_commit` / `apply_async_on_commit`.
app = Celery("saas_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _database_connection_checked(task: Any = None, **_: Any) -> None:
    """Celery's Django fixup keeps a worker's connection across tasks (`CELERY_DB_REUSE_MAX`);
    Django's own rules then apply as they do between requests: a connection past
    `CONN_MAX_AGE`, or found broken by the health check, is replaced before the task."""
    if task is not None and getattr(task.request, "is_eager", False):
        return  # inside the caller's own transaction (tests): nothing to close
    from django.db import close_old_connections

    close_old_connections()


@task_prerun.connect
def _log_context_bound(
    task_id: str | None = None, task: Any = None, args: Any = None, kwargs: Any = None, **_: Any
) -> None:
    """Every log line of a task carries its id and name and the object ids it was given (tasks
    take ids, ARCHITECTURE pattern 8), whether passed by position or by name."""
    structlog.contextvars.clear_contextvars()
    named = dict(zip(_parameters(task), args or (), strict=False)) | dict(kwargs or {})
    ids = {k: v for k, v in named.items() if k.endswith(("_id", "_pk")) and isinstance(v, int)}
    structlog.contextvars.bind_contextvars(task_id=task_id, task=getattr(task, "name", None), **ids)


@functools.cache
def _parameter_names(run: Any) -> tuple[str, ...]:
    try:
        return tuple(inspect.signature(run).parameters)
    except (TypeError, ValueError):
        return ()


def _parameters(task: Any) -> tuple[str, ...]:
    run = getattr(task, "run", None)
    return _parameter_names(run) if run is not None else ()


@task_postrun.connect
def _log_context_cleared(**_: Any) -> None:
    structlog.contextvars.clear_contextvars()
