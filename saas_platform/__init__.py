"""The composition root: settings, URLs, the Celery app, the two admin sites, and the kernel."""

from .celery import app as celery_app

__all__ = ["celery_app"]
