"""pytest: the real engines, fast hashing, captured mail, tasks run in-process."""

import secrets

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

# GHL: the stand-in's demo app; tests point GHL_API_BASE and the webhook keys at the stand-in
# they start (tests/integrations/conftest.py).
GHL_CLIENT_ID = "66d0a1b2c3d4e5f601234567-m0ck5t4n"
GHL_CLIENT_SECRET = "sandbox-only-client-secret"  # noqa: S105 — a published sandbox value
GHL_API_BASE = "http://127.0.0.1:9"  # nothing listens: a test that forgets the stand-in fails
GHL_MARKETPLACE_BASE = GHL_API_BASE
# Tests never share rate-limit state with a development server on the same Redis.
GHL_RATE_KEY_PREFIX = "test:ghl:rl"

# Stripe: tests answer at the wire with respx on this base (the stand-in can take its place).
STRIPE_SECRET_KEY = "sk_test_sandbox_only"  # noqa: S105 — not a real key
STRIPE_API_BASE = "https://stripe.test"
STRIPE_WEBHOOK_SECRETS = ["whsec_test_platform"]
STRIPE_CONNECT_WEBHOOK_SECRETS = ["whsec_test_connect"]

# API rate logs and idempotency records of one test run never meet another run's (key ids repeat
# after --create-db).
API_RATE_KEY_PREFIX = f"test:api:rl:{secrets.token_hex(4)}"
API_IDEMPOTENCY_KEY_PREFIX = f"test:api:idem:{secrets.token_hex(4)}"
# Embedded SSO: the stand-in's published sandbox secret (sandbox/ghl/config.py).
GHL_SSO_SHARED_SECRET = "sandbox-only-sso-shared-secret"  # noqa: S105 — a published sandbox value
# Failure counters live in Redis across runs; the one test of the limit lowers it for itself.
GHL_SSO_MAX_FAILURES = 10_000

# Query counts must not depend on how fast the machine is: the tenant lookup caches keep their
# entries for the whole test (each test starts empty); tests of the expiry set a short age.
TENANT_CACHE_SECONDS = 3600.0
