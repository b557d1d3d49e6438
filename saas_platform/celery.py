"""The Celery app. Tasks live in each app's `tasks.py`; queues and the periodic schedule are
declared once, in `saas_platform.schedule`."""

import os
from typing import Any

from celery import Celery
from celery.signals import task_prerun

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
