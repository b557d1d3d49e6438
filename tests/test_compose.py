"""compose.yaml as `tools/image_check.sh` found it must be: one image for every role, nothing
before the migrations ran, and the image's web HEALTHCHECK on the web role only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _roles() -> dict[str, dict[str, Any]]:
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    return {name: service for name, service in services.items() if "build" in service}


def test_every_role_runs_the_same_image() -> None:
    roles = _roles()
    assert {"migrate", "web", "beat"} <= set(roles)
    assert {service["image"] for service in roles.values()} == {"leadwise:latest"}


def test_only_web_keeps_the_images_readyz_healthcheck() -> None:
    roles = _roles()
    assert "HEALTHCHECK" in (ROOT / "Dockerfile").read_text()
    assert "healthcheck" not in roles["web"]
    assert {name for name, s in roles.items() if not s.get("healthcheck", {}).get("disable")} == {
        "web"
    }


def test_web_workers_and_beat_start_after_the_migrations() -> None:
    waiting = {
        name
        for name, service in _roles().items()
        if service.get("depends_on", {}).get("migrate", {}).get("condition")
        == "service_completed_successfully"
    }
    assert waiting == set(_roles()) - {"migrate"}
    assert any(name.startswith("worker-") for name in waiting)


def test_every_role_runs_the_production_settings_whatever_env_says() -> None:
    """`environment` wins over `env_file`, and a .env copied from .env.example names
    settings.local: no HTTPS redirect, no secure cookies, no refusal of default secrets."""
    example = (ROOT / ".env.example").read_text()
    assert "DJANGO_SETTINGS_MODULE=saas_platform.settings.local" in example
    for service in _roles().values():
        assert (
            service["environment"]["DJANGO_SETTINGS_MODULE"] == "saas_platform.settings.production"
        )


def test_containers_log_json_whatever_env_says() -> None:
    assert "LOG_JSON=false" in (ROOT / ".env.example").read_text()
    for service in _roles().values():
        assert service["environment"]["LOG_JSON"] == "true"
