"""Settings of the platform processes the outage test starts: the test settings, except that
tasks go to the Redis broker instead of running inside the request. Processing then happens only
when a real worker is started after the database is back, so an attempt can never be cut short
by the outage and "processed exactly once" can be read as `attempts == 1`."""

from saas_platform.settings.test import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = False
