"""Derive the stand-in's schema data from GHL's official OpenAPI specs.

The stand-in validates requests and responses against GHL's specs, but the repository carries
only the machine-readable part of them: paths, methods, parameters, request and response schemas,
security requirements and enums. Prose (descriptions, summaries, examples, titles) is dropped.

    python -m sandbox.ghl.spec_extract <GHL openapi dir> [<output dir>]

`<GHL openapi dir>` is the upstream layout (`apps/*.json`, `common/common-schemas.json`); the
output keeps that layout so relative `$ref`s still resolve (default: sandbox/ghl/openapi)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from sandbox.ghl.spec import SPEC_NAMES

PROSE = frozenset(
    {"description", "summary", "example", "examples", "title", "externalDocs", "x-codeSamples"}
)
OUT = Path(__file__).resolve().parent / "openapi"


def strip(node: Any, *, under_properties: bool = False) -> Any:
    """Drop prose keys, except where they are the *names* of schema properties."""
    if isinstance(node, dict):
        return {
            key: strip(value, under_properties=key == "properties")
            for key, value in node.items()
            if under_properties or (key not in PROSE and not key.startswith("x-"))
        }
    if isinstance(node, list):
        return [strip(item) for item in node]
    return node


def extract(document: dict[str, Any]) -> dict[str, Any]:
    keep = {k: document[k] for k in ("openapi", "servers", "paths", "components") if k in document}
    keep["info"] = {"title": "schema extract", "version": document.get("info", {}).get("version")}
    return strip(keep)  # type: ignore[no-any-return]


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)  # noqa: T201
        return 2
    source = Path(argv[0])
    target = Path(argv[1]) if len(argv) > 1 else OUT
    files = [("common", "common-schemas")] + [("apps", name) for name in SPEC_NAMES]
    for folder, name in files:
        document = json.loads((source / folder / f"{name}.json").read_text("utf-8"))
        out = target / folder / f"{name}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(extract(document), indent=1, sort_keys=True) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
