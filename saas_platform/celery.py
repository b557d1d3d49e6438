"""The Celery app. Tasks live in each app's `tasks.py`; queues and the periodic schedule are
declared once, in `saas_platform.schedule`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas_platform.settings.local")

# With Django configured, Celery gives tasks `delay_on_commit` / `apply_async_on_commit`.
app = Celery("saas_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
