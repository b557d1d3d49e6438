"""Deployments. Refuses to start with DEBUG on, the default SECRET_KEY, or no token keys."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import INSECURE_SECRET_KEY, env


def check_production_settings(*, debug: bool, secret_key: str, token_keys: list[str]) -> None:
    problems = []
    if debug:
        problems.append("DEBUG must be off")
    if not secret_key or secret_key == INSECURE_SECRET_KEY or len(secret_key) < 50:
        problems.append("SECRET_KEY must be set to a random value of at least 50 characters")
    if not token_keys:
        problems.append("TOKEN_ENCRYPTION_KEYS must list at least one Fernet key")
    if problems:
        raise ImproperlyConfigured("Refusing to start: " + "; ".join(problems) + ".")


DEBUG = env.bool("DEBUG", default=False)
check_production_settings(
    debug=DEBUG,
    secret_key=SECRET_KEY,  # noqa: F405
    token_keys=TOKEN_ENCRYPTION_KEYS,  # noqa: F405
)

PUBLIC_SCHEME = "https"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Probes and scrapes reach each process directly over plain http, not through the balancer.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LOG_JSON = env.bool("LOG_JSON", default=True)
