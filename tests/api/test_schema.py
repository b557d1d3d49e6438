"""The committed OpenAPI document (docs/openapi.yaml) is what the code generates, and the
reference pages serve it under the agency's brand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from tests.conftest import World

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
REGENERATE = "python manage.py spectacular --validate --fail-on-warn --file docs/openapi.yaml"


def test_the_committed_schema_matches_the_code(tmp_path: Path) -> None:
    fresh = tmp_path / "openapi.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(fresh))
    assert fresh.read_text() == COMMITTED.read_text(), f"schema drifted; run: {REGENERATE}"


def test_every_operation_documents_the_error_envelope() -> None:
    import yaml

    schema = yaml.safe_load(COMMITTED.read_text())
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status in ("401", "403", "404", "429"):
                content = operation["responses"][status]["content"]["application/json"]
                assert content["schema"]["$ref"].endswith("/ErrorEnvelope"), (path, method)
    assert "GoHighLevel" not in COMMITTED.read_text() and "GHL" not in COMMITTED.read_text()


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_the_reference_is_branded_and_self_hosted(
    world: World, agency_client: Any, page: str
) -> None:
    response = agency_client(world.a).get(page)
    text = response.content.decode()
    assert response.status_code == 200
    assert "<title>Brand A API reference</title>" in text
    assert "<span>Brand A</span>" in text and "#123456" in text  # the agency's bar
    assert "/static/drf_spectacular_sidecar/" in text
    assert "googleapis" not in text and "cdn." not in text and "Brand B" not in text


@pytest.mark.django_db
def test_the_schema_is_served(world: World, agency_client: Any) -> None:
    response = agency_client(world.a).get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert "/api/v1/locations/{location_id}/contacts/" in response.json()["paths"]
