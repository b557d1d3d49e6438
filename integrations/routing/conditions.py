"""Rule conditions: a small JSON tree checked when a rule is saved and evaluated per lead.

    {"all": [node, …]} | {"any": [node, …]} | {"field": F, "op": OP, "value": V} | {} (any lead)

Fields are the mirror contact's columns, `tags`, and `custom:<custom field id>`. String
comparisons ignore case and surrounding spaces (GHL lower-cases tags; people type areas freely).
A value that cannot be compared (a non-number in a range) simply does not match: every way a
rule can be wrong is refused by `validate` when it is saved, so routing never fails on it.
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import models

from integrations.mirror.models import MirrorContact
from saas_platform.kernel.errors import ApplicationError

CUSTOM = "custom:"
# The mirror contact's text columns (a column added there can be routed on at once), and tags.
CONTACT_FIELDS = frozenset(
    {
        f.name
        for f in MirrorContact._meta.concrete_fields
        if isinstance(f, models.CharField) and f.name != "ghl_id"
    }
    | {"tags"}
)
LIST_OPS = frozenset({"in", "postal_in"})
NUMERIC_OPS = frozenset({"gte", "lte"})
OPS = frozenset({"equals", "contains", "between", *LIST_OPS, *NUMERIC_OPS})


def field_value(contact: MirrorContact, field: str) -> Any:
    """The lead's value for a field name (a list for tags, None when absent)."""
    if field.startswith(CUSTOM):
        return (contact.custom_fields or {}).get(field[len(CUSTOM) :])
    return getattr(contact, field)


def _norm(value: Any) -> str:
    return str(value).strip().casefold()


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        # "1,200,000" and "AED 950000" come from web forms.
        text = str(value).replace(",", "").replace(" ", "").upper().removeprefix("AED")
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _postal(value: Any) -> str:
    return "".join(str(value).split()).casefold()


def _leaf(op: str, actual: Any, expected: Any) -> bool:
    if actual is None or actual == "":
        return False
    values = actual if isinstance(actual, list) else [actual]  # tags, multi-select fields
    if op == "equals":
        return any(_norm(v) == _norm(expected) for v in values)
    if op == "in":
        wanted = {_norm(e) for e in expected}
        return any(_norm(v) in wanted for v in values)
    if op == "contains":
        if isinstance(actual, list):
            return any(_norm(v) == _norm(expected) for v in values)
        return _norm(expected) in _norm(actual)
    if op == "postal_in":
        return any(_postal(v).startswith(_postal(p)) for v in values for p in expected)
    number = _number(values[0])
    if number is None:
        return False
    if op == "gte":
        return number >= Decimal(str(expected))
    if op == "lte":
        return number <= Decimal(str(expected))
    low, high = (Decimal(str(x)) for x in expected)  # between, inclusive
    return low <= number <= high


def matches(node: dict[str, Any], contact: MirrorContact) -> bool:
    if not node:
        return True
    if "all" in node:
        return all(matches(child, contact) for child in node["all"])
    if "any" in node:
        return any(matches(child, contact) for child in node["any"])
    return _leaf(node["op"], field_value(contact, node["field"]), node["value"])


# --- validation when a rule is saved ---------------------------------------------------------


def validate_field(field: Any, *, custom_ids: Collection[str] | None, where: str) -> None:
    """`custom_ids`: the custom field ids the location is known to have (None: not checked)."""
    if not isinstance(field, str) or not field:
        raise ApplicationError(f"{where}: a condition needs a field name.")
    if field.startswith(CUSTOM):
        custom_id = field[len(CUSTOM) :]
        if not custom_id:
            raise ApplicationError(f"{where}: {field!r} names no custom field id.")
        if custom_ids is not None and custom_id not in custom_ids:
            raise ApplicationError(f"{where}: unknown custom field {custom_id!r}.")
        return
    if field not in CONTACT_FIELDS:
        known = ", ".join(sorted(CONTACT_FIELDS))
        raise ApplicationError(
            f"{where}: unknown field {field!r} (use one of {known}, or custom:<id>)."
        )


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and _number(value) is not None


def _validate_leaf(node: dict[str, Any], custom_ids: Collection[str] | None, where: str) -> None:
    extra = set(node) - {"field", "op", "value"}
    if extra:
        raise ApplicationError(f"{where}: unexpected keys {sorted(extra)}.")
    validate_field(node.get("field"), custom_ids=custom_ids, where=where)
    op, value = node.get("op"), node.get("value")
    if op not in OPS:
        raise ApplicationError(
            f"{where}: unknown operator {op!r} (use one of {', '.join(sorted(OPS))})."
        )
    if op in LIST_OPS:
        if not isinstance(value, list) or not value or not all(str(v).strip() for v in value):
            raise ApplicationError(f"{where}: {op!r} needs a non-empty list of values.")
    elif op in NUMERIC_OPS:
        if not _is_number(value):
            raise ApplicationError(f"{where}: {op!r} needs a number, not {value!r}.")
    elif op == "between":
        if not (isinstance(value, list) and len(value) == 2 and all(map(_is_number, value))):
            raise ApplicationError(f"{where}: 'between' needs [low, high] numbers.")
        if Decimal(str(value[0])) > Decimal(str(value[1])):
            raise ApplicationError(f"{where}: 'between' range {value} has low above high.")
    elif not isinstance(value, str | int | float) or isinstance(value, bool) or value == "":
        raise ApplicationError(f"{where}: {op!r} needs a text or number value.")


def validate(
    node: Any, *, custom_ids: Collection[str] | None = None, where: str = "conditions"
) -> None:
    if not isinstance(node, dict):
        raise ApplicationError(f"{where}: expected an object, got {type(node).__name__}.")
    if not node:
        return
    for group in ("all", "any"):
        if group in node:
            children = node[group]
            if len(node) != 1 or not isinstance(children, list) or not children:
                raise ApplicationError(f"{where}: {group!r} needs a non-empty list and no more.")
            for i, child in enumerate(children):
                validate(child, custom_ids=custom_ids, where=f"{where}.{group}[{i}]")
            return
    _validate_leaf(node, custom_ids, where)
