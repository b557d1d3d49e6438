"""`manage.py check --deploy` findings of our own, beside Django's security ones."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

# Backends that accept a message and send nothing: fine on a laptop, silent loss in production
# (grace reminders, invitations and password resets would never arrive).
_NOT_SENDING = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
}


@checks.register(checks.Tags.compatibility, deploy=True)
def mail_is_sent(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if settings.EMAIL_BACKEND not in _NOT_SENDING:
        return []
    return [
        checks.Warning(
            f"EMAIL_BACKEND is {settings.EMAIL_BACKEND}: mail is not sent.",
            hint="Set EMAIL_BACKEND to an SMTP or provider backend (docs/deploy.md).",
            id="saas_platform.W001",
        )
    ]


@checks.register(checks.Tags.compatibility, deploy=True)
def logs_are_json(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if settings.LOG_JSON:
        return []
    return [
        checks.Warning(
            "LOG_JSON is off: logs are text lines, not the JSON records log shippers parse.",
            hint="Leave LOG_JSON unset (production default) or set it to true.",
            id="saas_platform.W002",
        )
    ]
