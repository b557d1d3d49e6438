"""The schema data in sandbox/ghl/openapi is GHL's specs minus prose, and stays in step with them
when the upstream copy is at hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.ghl import spec_extract
from sandbox.ghl.spec import SPEC_NAMES

VENDORED = Path(spec_extract.__file__).resolve().parent / "openapi"
UPSTREAM = Path(__file__).resolve().parents[3].parent / "shared" / "ghl" / "openapi"


def test_prose_is_dropped_but_property_names_are_kept() -> None:
    document = {
        "info": {"title": "x", "version": "1"},
        "paths": {"/a": {"get": {"summary": "s", "description": "d", "operationId": "op"}}},
        "components": {
            "schemas": {
                "Cal": {
                    "description": "prose",
                    "example": {"a": 1},
                    "properties": {"description": {"type": "string", "description": "prose"}},
                }
            }
        },
    }
    out = spec_extract.extract(document)
    assert out["paths"]["/a"]["get"] == {"operationId": "op"}
    assert out["components"]["schemas"]["Cal"] == {
        "properties": {"description": {"type": "string"}}
    }


def test_every_served_spec_is_vendored() -> None:
    for name in SPEC_NAMES:
        data = json.loads((VENDORED / "apps" / f"{name}.json").read_text())
        assert data["paths"], name
    assert (VENDORED / "common" / "common-schemas.json").is_file()


@pytest.mark.skipif(not UPSTREAM.is_dir(), reason="the upstream specs are not next to the repo")
def test_the_vendored_extract_matches_the_upstream_specs(tmp_path: Path) -> None:
    assert spec_extract.main([str(UPSTREAM), str(tmp_path)]) == 0
    for produced in tmp_path.rglob("*.json"):
        vendored = VENDORED / produced.relative_to(tmp_path)
        assert produced.read_text() == vendored.read_text(), vendored
