"""The industry packs, as data: one JSON file per pack under `data/`, read and checked once.

A pack file declares the custom fields it relies on (created in GHL when the pack is activated on
a location), the routing attributes it offers (each reads one of its custom fields or a standard
contact field), the pipelines and stages it expects, and its report set. Everything a file could
get wrong is refused by `pack_parse` with the file and the place named, so a broken pack fails the
test suite (and start-up of the first caller) rather than an activation.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from integrations.reporting.figures import SECTIONS
from integrations.routing.conditions import CONTACT_FIELDS
from saas_platform.kernel.errors import ApplicationError
from tenants.models import Location

DATA_DIR = Path(__file__).resolve().parent / "data"

# GHL's custom-field data types (`POST /locations/{locationId}/customFields`, `dataType`).
DATA_TYPES = frozenset(
    {
        "TEXT",
        "LARGE_TEXT",
        "NUMERICAL",
        "PHONE",
        "MONETORY",  # sic: GHL's spelling
        "CHECKBOX",
        "SINGLE_OPTIONS",
        "MULTIPLE_OPTIONS",
        "DATE",
        "TEXTBOX_LIST",
        "FILE_UPLOAD",
        "RADIO",
        "EMAIL",
    }
)
OPTION_TYPES = frozenset({"SINGLE_OPTIONS", "MULTIPLE_OPTIONS", "CHECKBOX", "RADIO"})
# A pack's report set names dashboard sections.
REPORTS = frozenset(SECTIONS)
KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class PackDataError(ValueError):
    """A pack file is malformed (a programming error in the data, not user input)."""


@dataclass(frozen=True)
class PackField:
    key: str  # the pack's own name for the field, stable across versions
    name: str  # the name it has in GHL
    data_type: str
    options: tuple[str, ...] = ()
    placeholder: str = ""


@dataclass(frozen=True)
class PackAttribute:
    key: str
    label: str
    custom_field: str = ""  # a PackField key …
    contact_field: str = ""  # … or a standard contact field


@dataclass(frozen=True)
class PackPipeline:
    name: str
    stages: tuple[str, ...]


@dataclass(frozen=True)
class Pack:
    key: str
    name: str
    version: int
    industry: str
    description: str
    fields: tuple[PackField, ...]
    attributes: tuple[PackAttribute, ...]
    pipelines: tuple[PackPipeline, ...]
    reports: tuple[str, ...]

    def field(self, key: str) -> PackField:
        return next(f for f in self.fields if f.key == key)


# --- parsing -------------------------------------------------------------------------------------


def _text(data: dict[str, Any], name: str, where: str, *, required: bool = True) -> str:
    value = data.get(name, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise PackDataError(f"{where}: {name!r} must be a non-empty string.")
    return value.strip()


def _keys(data: Any, allowed: set[str], required: set[str], where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise PackDataError(f"{where}: expected an object, got {type(data).__name__}.")
    if extra := set(data) - allowed:
        raise PackDataError(f"{where}: unexpected keys {sorted(extra)}.")
    if missing := required - set(data):
        raise PackDataError(f"{where}: missing keys {sorted(missing)}.")
    return data


def _list(data: dict[str, Any], name: str, where: str) -> list[Any]:
    value = data[name]
    if not isinstance(value, list) or not value:
        raise PackDataError(f"{where}: {name!r} must be a non-empty list.")
    return value


def _unique(values: list[str], what: str, where: str) -> None:
    seen = set()
    for value in values:
        if value.casefold() in seen:
            raise PackDataError(f"{where}: {what} {value!r} appears twice.")
        seen.add(value.casefold())


def _field(data: Any, where: str) -> PackField:
    data = _keys(
        data,
        {"key", "name", "data_type", "options", "placeholder"},
        {"key", "name", "data_type"},
        where,
    )
    key, name = _text(data, "key", where), _text(data, "name", where)
    if not KEY.match(key):
        raise PackDataError(f"{where}: key {key!r} must be snake_case (a-z, 0-9, _).")
    data_type = data["data_type"]
    if data_type not in DATA_TYPES:
        raise PackDataError(
            f"{where}: data_type {data_type!r} is not a GHL type ({', '.join(sorted(DATA_TYPES))})."
        )
    options = data.get("options", [])
    if data_type in OPTION_TYPES:
        if not isinstance(options, list) or not options:
            raise PackDataError(f"{where}: a {data_type} field needs a non-empty 'options' list.")
        if not all(isinstance(o, str) and o.strip() for o in options):
            raise PackDataError(f"{where}: options must be non-empty strings.")
        _unique(options, "option", where)
    elif options:
        raise PackDataError(f"{where}: only option types take 'options', not {data_type}.")
    placeholder = _text(data, "placeholder", where, required=False)
    return PackField(key, name, data_type, tuple(o.strip() for o in options), placeholder)


def _attribute(data: Any, fields: dict[str, PackField], where: str) -> PackAttribute:
    data = _keys(data, {"key", "label", "custom_field", "contact_field"}, {"key", "label"}, where)
    key, label = _text(data, "key", where), _text(data, "label", where)
    if not KEY.match(key):
        raise PackDataError(f"{where}: key {key!r} must be snake_case (a-z, 0-9, _).")
    if ("custom_field" in data) == ("contact_field" in data):
        raise PackDataError(f"{where}: give exactly one of 'custom_field' or 'contact_field'.")
    if "custom_field" in data:
        custom = _text(data, "custom_field", where)
        if custom not in fields:
            raise PackDataError(f"{where}: custom_field {custom!r} is not a field of the pack.")
        return PackAttribute(key, label, custom_field=custom)
    contact = _text(data, "contact_field", where)
    if contact not in CONTACT_FIELDS:
        known = ", ".join(sorted(CONTACT_FIELDS))
        raise PackDataError(f"{where}: contact_field {contact!r} is not one of {known}.")
    return PackAttribute(key, label, contact_field=contact)


def _pipeline(data: Any, where: str) -> PackPipeline:
    data = _keys(data, {"name", "stages"}, {"name", "stages"}, where)
    stages = _list(data, "stages", where)
    if not all(isinstance(s, str) and s.strip() for s in stages):
        raise PackDataError(f"{where}: stages must be non-empty strings.")
    _unique(stages, "stage", where)
    return PackPipeline(_text(data, "name", where), tuple(s.strip() for s in stages))


def _industry(data: dict[str, Any], source: str) -> str:
    industry = _text(data, "industry", source)
    if industry not in Location.Industry.values:
        known = ", ".join(Location.Industry.values)
        raise PackDataError(f"{source}: industry {industry!r} is not one of {known}.")
    return industry


def pack_parse(data: Any, *, source: str) -> Pack:
    """A pack from a file's decoded JSON; `source` names the file in error messages."""
    top = {"key", "name", "version", "industry", "description", "custom_fields",
           "routing_attributes", "pipelines", "reports"}  # fmt: skip
    data = _keys(data, top, top - {"description"}, source)
    key = _text(data, "key", source)
    if not KEY.match(key):
        raise PackDataError(f"{source}: key {key!r} must be snake_case (a-z, 0-9, _).")
    version = data["version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise PackDataError(f"{source}: version must be a whole number of at least 1.")
    fields = [_field(f, f"{source}: custom_fields[{i}]") for i, f in
              enumerate(_list(data, "custom_fields", source))]  # fmt: skip
    _unique([f.key for f in fields], "field key", source)
    _unique([f.name for f in fields], "field name", source)
    by_key = {f.key: f for f in fields}
    attributes = [
        _attribute(a, by_key, f"{source}: routing_attributes[{i}]")
        for i, a in enumerate(_list(data, "routing_attributes", source))
    ]
    _unique([a.key for a in attributes], "attribute", source)
    pipelines = [
        _pipeline(p, f"{source}: pipelines[{i}]")
        for i, p in enumerate(_list(data, "pipelines", source))
    ]
    _unique([p.name for p in pipelines], "pipeline", source)
    reports = _list(data, "reports", source)
    if unknown := [r for r in reports if r not in REPORTS]:
        raise PackDataError(
            f"{source}: unknown reports {unknown} (use {', '.join(sorted(REPORTS))})."
        )
    _unique(reports, "report", source)
    return Pack(
        key=key,
        name=_text(data, "name", source),
        version=version,
        industry=_industry(data, source),
        description=_text(data, "description", source, required=False),
        fields=tuple(fields),
        attributes=tuple(attributes),
        pipelines=tuple(pipelines),
        reports=tuple(reports),
    )


@cache
def packs() -> dict[str, Pack]:
    """Every pack by key, read from `data/` once per process."""
    found: dict[str, Pack] = {}
    for path in sorted(DATA_DIR.glob("*.json")):
        pack = pack_parse(json.loads(path.read_text(encoding="utf-8")), source=path.name)
        if pack.key != path.stem:
            raise PackDataError(f"{path.name}: key {pack.key!r} must match the file name.")
        found[pack.key] = pack
    return found


def pack_get(*, key: str) -> Pack:
    """The pack, or a refusal naming the packs there are."""
    pack = packs().get(key)
    if pack is None:
        raise ApplicationError(f"Unknown pack {key!r}: choose one of {', '.join(sorted(packs()))}.")
    return pack
