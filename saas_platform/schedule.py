"""Named queues, task routes and the periodic schedule: the one place they are declared.

Queues, by what waits on them:
- ``interactive``: a person is waiting (portal actions, lead routing);
- ``webhooks``: processing of inbound events;
- ``sync``: bulk data movement (backfills, incremental syncs, connectors);
- ``default``: everything else (mail, side effects of admin actions);
- ``maintenance``: housekeeping that may wait.
"""

from celery.schedules import crontab

QUEUES = ("interactive", "webhooks", "sync", "default", "maintenance")

CELERY_TASK_ROUTES = {
    "tenants.tasks.*": {"queue": "default"},
    "saas_platform.tasks.*": {"queue": "maintenance"},
}

CELERY_BEAT_SCHEDULE = {
    "domains-recheck": {
        "task": "tenants.tasks.agency_domains_recheck",
        "schedule": crontab(minute="*/15"),
    },
    "sessions-clear-expired": {
        "task": "saas_platform.tasks.sessions_clear_expired",
        "schedule": crontab(minute=17, hour=3),
    },
}
