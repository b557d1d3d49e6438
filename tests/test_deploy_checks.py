"""`manage.py check --deploy` warns about a deployment that would send no mail or write text
logs (saas_platform/checks.py)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

SMTP = "django.core.mail.backends.smtp.EmailBackend"
CONSOLE = "django.core.mail.backends.console.EmailBackend"


def _deploy_warnings() -> str:
    out = StringIO()
    try:
        call_command("check", deploy=True, fail_level="WARNING", stdout=out, stderr=out)
    except SystemCheckError as exc:
        return str(exc)
    return out.getvalue()


@pytest.mark.parametrize(
    ("backend", "log_json", "expected"),
    [
        (CONSOLE, True, {"saas_platform.W001"}),
        (SMTP, False, {"saas_platform.W002"}),
        (SMTP, True, set()),
    ],
)
def test_the_deploy_checks(backend: str, log_json: bool, expected: set[str]) -> None:
    with override_settings(EMAIL_BACKEND=backend, LOG_JSON=log_json):
        found = _deploy_warnings()
    assert {code for code in ("saas_platform.W001", "saas_platform.W002") if code in found} == (
        expected
    )


def test_an_ordinary_check_says_nothing_of_them() -> None:
    out = StringIO()
    with override_settings(EMAIL_BACKEND=CONSOLE, LOG_JSON=False):
        call_command("check", stdout=out)
    assert "saas_platform.W00" not in out.getvalue()
