"""The GHL side of a field mapping: which contact fields can be synced, and their values as text.

Both sides are compared as *canonical text*, so a sheet's "TRUE", a database's `true` and GHL's
`True` are the same value, and "b, a" equals GHL's tags `["a", "b"]`; a difference that is only
spelling is not a change, and never starts a write or an echo."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from integrations.mirror.models import MirrorContact

from .base import ConnectorConfigError, Value
from .models import Policy

# Mapping name → (mirror column, GHL API key).
STANDARD: dict[str, tuple[str, str]] = {
    "first_name": ("first_name", "firstName"),
    "last_name": ("last_name", "lastName"),
    "email": ("email", "email"),
    "phone": ("phone", "phone"),
    "company_name": ("company_name", "companyName"),
    "source": ("source", "source"),
    "address1": ("address1", "address1"),
    "city": ("city", "city"),
    "state": ("state", "state"),
    "postal_code": ("postal_code", "postalCode"),
    "country": ("country", "country"),
    "timezone": ("timezone", "timezone"),
    "dnd": ("dnd", "dnd"),
    "tags": ("tags", "tags"),
}
CUSTOM = "custom:"
TRUE = frozenset({"true", "yes", "y", "1", "on", "x"})


@dataclass(frozen=True)
class FieldMap:
    ghl: str
    external: str
    policy: str = Policy.NEWEST_WINS


def parse_mapping(raw: Any) -> list[FieldMap]:
    """The stored mapping as FieldMaps; refuses (with a message for a person) a mapping that
    cannot work: unknown GHL fields, empty or repeated names, unknown policies."""
    if not isinstance(raw, list) or not raw:
        raise ConnectorConfigError("Map at least one field.")
    mapped: list[FieldMap] = []
    for index, item in enumerate(raw, start=1):
        if not isinstance(item, Mapping):
            raise ConnectorConfigError(f"Field mapping line {index} is not an object.")
        ghl, external = str(item.get("ghl", "")).strip(), str(item.get("external", "")).strip()
        policy = str(item.get("policy") or Policy.NEWEST_WINS)
        if ghl not in STANDARD and not (ghl.startswith(CUSTOM) and len(ghl) > len(CUSTOM)):
            known = ", ".join(STANDARD)
            raise ConnectorConfigError(
                f"Line {index}: {ghl!r} is not a GHL contact field ({known}, or custom:<id>)."
            )
        if not external:
            raise ConnectorConfigError(f"Line {index}: name the external field for {ghl}.")
        if policy not in Policy.values:
            raise ConnectorConfigError(f"Line {index}: unknown conflict policy {policy!r}.")
        mapped.append(FieldMap(ghl, external, policy))
    for attribute in ("ghl", "external"):
        names = [getattr(m, attribute) for m in mapped]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ConnectorConfigError(f"Mapped more than once: {', '.join(repeated)}.")
    return mapped


def canonical(ghl_field: str, value: Any) -> str:
    if value is None:
        return ""
    if ghl_field == "tags":
        items = value if isinstance(value, list | tuple) else str(value).split(",")
        return ", ".join(sorted({str(t).strip() for t in items if str(t).strip()}))
    if ghl_field == "dnd":
        return "true" if str(value).strip().lower() in TRUE else "false"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    text = str(value).strip()
    return text.lower() if ghl_field == "email" else text


def ghl_value(contact: MirrorContact, ghl_field: str) -> str:
    if ghl_field.startswith(CUSTOM):
        return canonical(ghl_field, (contact.custom_fields or {}).get(ghl_field[len(CUSTOM) :]))
    return canonical(ghl_field, getattr(contact, STANDARD[ghl_field][0]))


def external_value(ghl_field: str, value: Value) -> str:
    return canonical(ghl_field, value)


def ghl_payload(values: Mapping[str, str]) -> dict[str, Any]:
    """GHL API fields (create / update body) for canonical values by mapping name."""
    body: dict[str, Any] = {}
    custom: list[dict[str, Any]] = []
    for name, value in values.items():
        if name.startswith(CUSTOM):
            custom.append({"id": name[len(CUSTOM) :], "field_value": value})
        elif name == "tags":
            body["tags"] = [t for t in (s.strip() for s in value.split(",")) if t]
        elif name == "dnd":
            body["dnd"] = value == "true"
        else:  # GHL refuses an empty string as an e-mail address; null clears it
            body[STANDARD[name][1]] = (value or None) if name == "email" else value
    if custom:
        body["customFields"] = custom
    return body


def external_fields(mapping: Sequence[FieldMap], values: Mapping[str, str]) -> dict[str, Value]:
    return {m.external: values.get(m.ghl, "") for m in mapping}
