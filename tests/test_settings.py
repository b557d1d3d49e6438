"""Production settings refuse unsafe values; every environment reads the engines from the
environment."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOOD_KEY = "x" * 60
FERNET_KEY = "dGVzdC1rZXktMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA="


def _start_production(**overrides: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "SECRET_KEY", "TOKEN_ENCRYPTION_KEYS"}
    }
    env.update(DJANGO_SETTINGS_MODULE="saas_platform.settings.production", **overrides)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"DEBUG": "true", "SECRET_KEY": GOOD_KEY, "TOKEN_ENCRYPTION_KEYS": FERNET_KEY}, "DEBUG"),
        ({"TOKEN_ENCRYPTION_KEYS": FERNET_KEY}, "SECRET_KEY"),
        (
            {
                "SECRET_KEY": "insecure-development-key-never-use-in-production",
                "TOKEN_ENCRYPTION_KEYS": FERNET_KEY,
            },
            "SECRET_KEY",
        ),
        ({"SECRET_KEY": GOOD_KEY}, "TOKEN_ENCRYPTION_KEYS"),
    ],
)
def test_production_refuses_to_start_with_unsafe_settings(
    overrides: dict[str, str], complaint: str
) -> None:
    result = _start_production(**overrides)
    assert result.returncode != 0
    assert "Refusing to start" in result.stderr and complaint in result.stderr


def test_production_starts_with_safe_settings() -> None:
    result = _start_production(SECRET_KEY=GOOD_KEY, TOKEN_ENCRYPTION_KEYS=FERNET_KEY)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_the_engines_come_from_the_environment(settings: object) -> None:
    from django.conf import settings as django_settings

    assert django_settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert django_settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    assert django_settings.CELERY_BROKER_URL.startswith("redis://")


@pytest.mark.parametrize("module", ["local", "test"])
def test_the_development_token_keys_are_real_fernet_keys(module: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TOKEN_ENCRYPTION_KEYS"}
    env["DJANGO_SETTINGS_MODULE"] = f"saas_platform.settings.{module}"
    check = (
        "import django; django.setup(); from saas_platform.kernel import crypto; "
        "assert crypto.decrypt(crypto.encrypt('x')) == 'x'; print('ok')"
    )
    result = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "ok", result.stderr
