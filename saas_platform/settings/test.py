"""pytest: the real engines, fast hashing, captured mail, tasks run in-process."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
PUBLIC_SCHEME = "http"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
TOKEN_ENCRYPTION_KEYS = [
    "dGVzdC1rZXktMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA=",
    "b2xkLXRlc3Qta2V5LTAwMDAwMDAwMDAwMDAwMDAwMDA=",
]
# Tasks run eagerly in unit tests; tests/test_celery_worker.py runs a real worker over Redis.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
# Each pytest-xdist worker gets its own cache key space on the shared Redis.
CACHES["default"]["KEY_PREFIX"] = f"test-{env.str('PYTEST_XDIST_WORKER', default='main')}"  # noqa: F405
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_USE_FINDERS = True
