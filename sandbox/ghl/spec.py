"""The official GHL OpenAPI (v2) specs: discovery, upstream quirk handling, and validators.

The specs' machine-readable part (paths, parameters, schemas, security; no prose) is kept in
``sandbox/ghl/openapi``, derived from GHL's official files by ``sandbox.ghl.spec_extract``;
``--openapi-dir`` / ``GHL_OPENAPI_DIR`` point at another copy in the upstream layout. Upstream
quirks handled here:

* v2 files reference ``../common/common-schemas.json``; documents are registered under URIs that
  mirror the upstream layout so those relative refs resolve.
* ``ForbiddenDTO`` / ``NotFoundDTO`` are referenced but never defined upstream; fallbacks with
  the common envelope shape are injected.
* OpenAPI 3.0 ``nullable: true`` becomes a JSON-Schema type union.
* :data:`PATCHES` loosens a few spec statements that contradict GHL's documented behaviour
  (over-eager ``required`` lists, wrong types); each carries its reason.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator, ValidationError
from referencing import Registry
from referencing.jsonschema import DRAFT7

BASE_URI = "https://sandbox.ghl.invalid/openapi/"
SPEC_NAMES = (
    "oauth",
    "marketplace",
    "locations",
    "users",
    "contacts",
    "custom-fields",
    "opportunities",
    "calendars",
    "conversations",
)
_ENVELOPE = {
    "type": "object",
    "properties": {
        "statusCode": {"type": "number"},
        "message": {"type": ["string", "array"]},
        "error": {"type": "string"},
    },
}


@dataclass(frozen=True)
class Patch:
    spec: str
    schema: str
    action: str  # "required" (replace the required list) or "property" (replace a property)
    value: Any
    reason: str
    prop: str = ""


PATCHES: tuple[Patch, ...] = (
    Patch(
        "opportunities",
        "OpportunitySearchBodyDTO",
        "required",
        ["locationId"],
        "spec marks every field required; GHL's examples search with locationId only",
    ),
    Patch(
        "opportunities",
        "AdditionalDetailsDTO",
        "required",
        [],
        "all four flags are optional toggles",
    ),
    Patch(
        "opportunities",
        "UpsertOpportunityDto",
        "required",
        ["pipelineId", "locationId"],
        "follower fields are only needed when changing followers (REFERENCE §5.2)",
    ),
    Patch(
        "opportunities",
        "UpsertOpportunityDto",
        "property",
        {"type": ["number", "null"]},
        "a number (the spec's own example is 220); the spec says object",
        prop="monetaryValue",
    ),
    Patch(
        "conversations",
        "SendMessageBodyDto",
        "required",
        ["type", "contactId"],
        "subType/status became required in the 2026-05 spec: a doc regression (REFERENCE §5.4)",
    ),
    Patch(
        "opportunities",
        "PipelinesResponseSchema",
        "property",
        {"type": "array", "items": {"type": "object"}},
        "stages are objects; the spec says arrays of arrays",
        prop="stages",
    ),
    *(
        Patch(
            "opportunities",
            "SearchMetaResponseSchema",
            "property",
            {"type": [kind, "null"]},
            "null when there is no such page",
            prop=name,
        )
        for name, kind in (
            ("nextPageUrl", "string"),
            ("startAfterId", "string"),
            ("startAfter", "number"),
            ("nextPage", "number"),
            ("prevPage", "number"),
        )
    ),
    *(
        Patch(
            "calendars",
            "CalendarEventDTO",
            "property",
            {"type": ["string", "object"]},
            "GHL sends ISO strings; the spec says object",
            prop=name,
        )
        for name in ("startTime", "endTime", "dateAdded", "dateUpdated")
    ),
    *(
        Patch(
            "contacts",
            name,
            "required",
            [],
            "a custom field value names its field by id or by key (REFERENCE §5.1)",
        )
        for name in (
            "TextField",
            "LargeTextField",
            "SingleSelectField",
            "RadioField",
            "NumericField",
            "MonetoryField",
            "CheckboxField",
            "MultiSelectField",
            "FileField",
        )
    ),
    *(
        Patch(
            "contacts",
            name,
            "property",
            {"type": ["number", "string"]},
            "numbers (the spec's own examples are 100 and 100.5); the spec says object",
            prop="field_value",
        )
        for name in ("NumericField", "MonetoryField")
    ),
    Patch(
        "contacts",
        "CustomFieldSchema",
        "property",
        {"type": ["string", "number", "boolean", "array", "object"]},
        "values keep their field's type (numbers, option lists); the spec says string",
        prop="value",
    ),
    *(
        Patch(
            "contacts",
            dto,
            "property",
            {"type": ["string", "object", "null"]},
            "documented as a date string in several formats; the spec says object",
            prop="dateOfBirth",
        )
        for dto in ("CreateContactDto", "UpdateContactDto", "UpsertContactDto")
    ),
)


def find_openapi_dir(explicit: str | Path | None = None) -> Path | None:
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit))
    if os.environ.get("GHL_OPENAPI_DIR"):
        candidates.append(Path(os.environ["GHL_OPENAPI_DIR"]))
    candidates.append(Path(__file__).resolve().parent / "openapi")
    for path in candidates:
        if (path / "apps" / "contacts.json").is_file():
            return path
    return None


def _openapi_to_jsonschema(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _openapi_to_jsonschema(v) for k, v in node.items() if k != "example"}
        if out.pop("nullable", False) is True:
            kind = out.get("type")
            if isinstance(kind, str):
                out["type"] = [kind, "null"]
            elif "$ref" in out or "allOf" in out:
                out = {"anyOf": [out, {"type": "null"}]}
        return out
    if isinstance(node, list):
        return [_openapi_to_jsonschema(v) for v in node]
    return node


def _forbid_unknown(node: Any) -> Any:
    """NestJS whitelist mode: objects with declared properties accept nothing else."""
    if isinstance(node, dict):
        out = {k: _forbid_unknown(v) for k, v in node.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_forbid_unknown(v) for v in node]
    return node


class SpecSet:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.raw: dict[str, dict[str, Any]] = {}
        for name in SPEC_NAMES:
            self.raw[name] = json.loads((root / "apps" / f"{name}.json").read_text("utf-8"))
        common = json.loads((root / "common" / "common-schemas.json").read_text("utf-8"))
        schemas = common.setdefault("components", {}).setdefault("schemas", {})
        schemas.setdefault("ForbiddenDTO", _ENVELOPE)
        schemas.setdefault("NotFoundDTO", _ENVELOPE)
        self.common = common
        self._validators: dict[tuple[Any, ...], Draft7Validator] = {}

    def uri(self, spec: str) -> str:
        return f"{BASE_URI}apps/{spec}.json"

    def _documents(self) -> dict[str, dict[str, Any]]:
        docs = {self.uri(n): _openapi_to_jsonschema(d) for n, d in self.raw.items()}
        docs[f"{BASE_URI}common/common-schemas.json"] = _openapi_to_jsonschema(self.common)
        for patch in PATCHES:
            schema = docs[self.uri(patch.spec)]["components"]["schemas"][patch.schema]
            if patch.action == "required":
                schema["required"] = list(patch.value)
            else:
                schema.setdefault("properties", {})[patch.prop] = copy.deepcopy(patch.value)
        return docs

    @cached_property
    def registry(self) -> Registry:
        return self._build_registry(strict=False)

    @cached_property
    def strict_registry(self) -> Registry:
        return self._build_registry(strict=True)

    def _build_registry(self, *, strict: bool) -> Registry:
        pairs = []
        for uri, doc in self._documents().items():
            contents = _forbid_unknown(doc) if strict else doc
            pairs.append((uri, DRAFT7.create_resource(contents)))
        return Registry().with_resources(pairs)

    def operation(self, spec: str, method: str, path: str) -> dict[str, Any] | None:
        op = self.raw.get(spec, {}).get("paths", {}).get(path, {}).get(method.lower())
        return op if isinstance(op, dict) else None

    def iter_operations(self) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
        for spec, doc in self.raw.items():
            for path, ops in doc.get("paths", {}).items():
                for method, op in ops.items():
                    if method in ("get", "post", "put", "delete", "patch"):
                        yield spec, method.upper(), path, op

    @staticmethod
    def version_of(op: dict[str, Any]) -> str | None:
        for param in op.get("parameters", []):
            if param.get("name") == "Version" and param.get("in") == "header":
                enum = param.get("schema", {}).get("enum") or [None]
                return str(enum[0]) if enum[0] is not None else None
        return None

    @staticmethod
    def security_of(op: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
        out = []
        for alternative in op.get("security") or []:
            for scheme, scopes in alternative.items():
                out.append((scheme, tuple(scopes)))
        return out

    def _ref_validator(self, spec: str, ref: str, strict: bool) -> Draft7Validator:
        key = (spec, ref, strict)
        validator = self._validators.get(key)
        if validator is None:
            if ref.startswith("../"):
                target = BASE_URI + ref[3:]
            elif "://" in ref:
                target = ref
            else:
                target = f"{self.uri(spec)}{ref}"
            registry = self.strict_registry if strict else self.registry
            validator = Draft7Validator({"$ref": target}, registry=registry)
            self._validators[key] = validator
        return validator

    def request_validator(
        self, spec: str, method: str, path: str, content_type: str, *, strict: bool = False
    ) -> Draft7Validator | None:
        op = self.operation(spec, method, path)
        schema = ((op or {}).get("requestBody") or {}).get("content", {}).get(content_type)
        if not schema or "schema" not in schema:
            return None
        return self._schema_validator(spec, schema["schema"], strict)

    def response_validator(
        self, spec: str, method: str, path: str, status: int
    ) -> Draft7Validator | None:
        op = self.operation(spec, method, path)
        response = (op or {}).get("responses", {}).get(str(status))
        schema = ((response or {}).get("content") or {}).get("application/json", {}).get("schema")
        if schema is None:
            return None
        return self._schema_validator(spec, schema, False)

    def _schema_validator(self, spec: str, schema: dict[str, Any], strict: bool) -> Draft7Validator:
        if set(schema) == {"$ref"}:
            return self._ref_validator(spec, schema["$ref"], strict)
        converted = _openapi_to_jsonschema(schema)
        if strict:
            converted = _forbid_unknown(converted)
        wrapped = _rebase_refs(converted, self.uri(spec))
        registry = self.strict_registry if strict else self.registry
        return Draft7Validator(wrapped, registry=registry)


def _rebase_refs(node: Any, doc_uri: str) -> Any:
    """Make refs of an inline schema absolute (it is validated outside its document)."""
    if isinstance(node, dict):
        out = {k: _rebase_refs(v, doc_uri) for k, v in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str):
            if ref.startswith("#"):
                out["$ref"] = doc_uri + ref
            elif ref.startswith("../"):
                out["$ref"] = BASE_URI + ref[3:]
        return out
    if isinstance(node, list):
        return [_rebase_refs(v, doc_uri) for v in node]
    return node


def nest_messages(errors: list[ValidationError]) -> list[str]:
    """Render validation errors the way NestJS's class-validator words them, by field name."""
    keyed: list[tuple[str, str]] = []
    for error in errors:
        where = ".".join(str(p) for p in error.absolute_path)
        prefix = f"{where}." if where else ""
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else error.message
            keyed.append((prefix + missing, f"{prefix}{missing} should not be empty"))
        elif error.validator == "additionalProperties":
            instance = error.instance if isinstance(error.instance, dict) else {}
            allowed = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
            for extra in sorted(k for k in instance if k not in allowed):
                keyed.append((prefix + extra, f"property {prefix}{extra} should not exist"))
        elif error.validator == "type":
            kinds = (
                error.validator_value
                if isinstance(error.validator_value, list)
                else [error.validator_value]
            )
            kind = " or ".join(str(k) for k in kinds if k != "null")
            article = "an" if kind[:1] in "aeiou" else "a"
            keyed.append((where, f"{where or 'body'} must be {article} {kind}"))
        elif error.validator == "enum":
            options = error.validator_value if isinstance(error.validator_value, list) else []
            allowed_values = ", ".join(str(v) for v in options)
            keyed.append((where, f"{where} must be one of the following values: {allowed_values}"))
        else:
            keyed.append((where, f"{where or 'body'}: {error.message}"))
    return [message for _, message in sorted(keyed)]
