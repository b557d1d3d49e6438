"""Value coercion from GHL's JSON into mirror column values.

Each helper takes what GHL (or a webhook) put in one field and returns the value the column stores,
or raises `FieldError` when the value has a type no reading of GHL's formats can explain. Missing
values (`None`, absent keys) become the column's empty value, never an error: GHL omits keys freely.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

# Numbers below this are epoch seconds, above it epoch milliseconds: 1e11 ms is March 1973 and
# 1e11 s is the year 5138, so no date GHL can hold is ambiguous.
_EPOCH_MS_FROM = 100_000_000_000
_COUNTRY = re.compile(r"[A-Z]{2}")
_CENT = Decimal("0.01")
_INT_MAX = 2**31 - 1  # an integer column


class FieldError(ValueError):
    """One field of one record has a value of the wrong type or format."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field


def _type_name(value: object) -> str:
    return type(value).__name__


def text(value: Any, limit: int, field: str) -> str:
    """A string column: numbers are written as text, NULs dropped (PostgreSQL text cannot hold
    them) and overlong values cut to the column length rather than failing the whole batch."""
    if type(value) is str:
        out = value
    elif value is None:
        return ""
    elif isinstance(value, str) or (
        isinstance(value, int | float | Decimal) and not isinstance(value, bool)
    ):
        out = str(value)
    else:
        raise FieldError(field, f"expected text, got {_type_name(value)}")
    if "\x00" in out:
        out = out.replace("\x00", "")
    return out if len(out) <= limit else out[:limit]


def ghl_id(value: Any, limit: int, field: str = "id") -> str:
    """An id is never cut short or invented: a truncated id would merge two records."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise FieldError(
            field, "missing" if value is None else f"expected text, got {_type_name(value)}"
        )
    stripped: str = value.strip()
    if not stripped:
        raise FieldError(field, "missing")
    if len(stripped) > limit or "\x00" in stripped:
        raise FieldError(field, f"not a GHL id ({len(stripped)} characters)")
    return stripped


def timestamp(value: Any, field: str) -> datetime | None:
    """GHL writes times as ISO-8601 (`…T12:41:02.193Z`, `…T16:00:00+05:30`) and some as epoch
    milliseconds (`lastMessageDate`, conversation dates); naive times are taken as UTC."""
    if type(value) is str:
        try:
            moment = datetime.fromisoformat(value)  # first: nearly every GHL time is ISO-8601
        except ValueError:
            if not value.strip():
                return None
            moment = _from_text(value, field)
    elif value is None:
        return None
    elif isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        moment = _from_epoch(value, field)
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif isinstance(value, str):
        return timestamp(str(value), field)
    else:
        raise FieldError(field, f"expected a time, got {_type_name(value)}")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _from_text(value: str, field: str) -> datetime:
    raw = value.strip()
    if raw.lstrip("-").replace(".", "", 1).isdigit():
        return _from_epoch(float(raw), field)
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        raise FieldError(field, f"not an ISO-8601 time: {raw[:40]!r}") from None


def _from_epoch(number: float, field: str) -> datetime:
    seconds = number / 1000 if abs(number) >= _EPOCH_MS_FROM else number
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise FieldError(field, f"epoch time out of range: {number!r}") from None


def money(value: Any, field: str, max_digits: int = 14) -> Decimal:
    """Monetary values arrive as numbers or numeric strings; stored to the cent."""
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise FieldError(field, f"expected a number, got {_type_name(value)}")
    try:
        # str() first: a float's shortest repr, not its binary expansion.
        amount = Decimal(str(value).strip()).quantize(_CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise FieldError(field, f"not a number: {str(value)[:40]!r}") from None
    if not amount.is_finite() or amount.adjusted() >= max_digits - 2:
        raise FieldError(field, f"out of range: {str(value)[:40]!r}")
    return amount


def count(value: Any, field: str) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise FieldError(field, "expected a count, got bool")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise FieldError(field, f"expected a count, got {str(value)[:40]!r}") from None
    if number != value and not isinstance(value, str):
        raise FieldError(field, f"expected a whole number, got {value!r}")
    if number > _INT_MAX:
        raise FieldError(field, f"out of range: {number}")
    return max(number, 0)


def flag(value: Any, field: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise FieldError(field, f"expected true/false, got {str(value)[:40]!r}")


def country(value: Any, field: str) -> str:
    """ISO 3166 alpha-2, upper-cased; anything else (a country name, junk) is stored as unknown."""
    if value is None:
        return ""
    code = (value if type(value) is str else text(value, 8, field)).strip().upper()
    return code if len(code) == 2 and _COUNTRY.fullmatch(code) else ""


def tags(value: Any, limit: int, field: str = "tags") -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise FieldError(field, f"expected a list, got {_type_name(value)}")
    return [
        tag
        if type(tag) is str and len(tag) <= limit and "\x00" not in tag
        else text(tag, limit, field)
        for tag in value
        if tag is not None
    ]


def custom_fields(value: Any, field: str = "customFields") -> dict[str, Any]:
    """`[{id, value}]` (contacts), `[{id, fieldValue}]` (opportunities) or input-style
    `[{key, field_value}]` → `{id or key: value}`; items naming no field are skipped."""
    if value is None:
        return {}
    if type(value) is not list and isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    if not isinstance(value, list | tuple):
        raise FieldError(field, f"expected a list, got {_type_name(value)}")
    out: dict[str, Any] = {}
    for item in value:
        if type(item) is not dict and not isinstance(item, Mapping):  # dict: skip the ABC check
            raise FieldError(field, f"expected objects, got {_type_name(item)}")
        name = item.get("id") or item.get("key")
        if not name:
            continue
        for key in ("value", "fieldValue", "field_value"):
            if key in item:
                out[str(name)] = item[key]
                break
        else:
            out[str(name)] = None
    return out


_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_JSON_STRING = json.encoder.encode_basestring  # the C encoder's, when the C module is there


def _scalar_json(value: Any) -> str | None:
    kind = type(value)
    if kind is str:
        return _JSON_STRING(value)
    if kind is int:
        return int.__repr__(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    if kind is float and math.isfinite(value):
        return float.__repr__(value)
    return None


def flat_object_json(value: dict[str, Any], field: str) -> str:
    """`json_text` of a dict of scalars, the custom fields' usual shape, without the encoder's
    set-up per call (most of its cost on small objects); the same text the encoder writes."""
    parts = []
    for key, item in value.items():
        encoded = _scalar_json(item)
        if encoded is None:
            return json_text(value, field)
        parts.append(f"{_JSON_STRING(key)}:{encoded}")
    out = "{" + ",".join(parts) + "}"
    return out if "\\u0000" not in out else json_text(value, field)


def json_text(value: Any, field: str) -> str:
    """Compact JSON for a jsonb column. jsonb rejects the NUL escape, so NULs are dropped."""
    try:
        encoded = _JSON.encode(value)
    except (TypeError, ValueError) as exc:
        raise FieldError(field, f"not JSON-serialisable: {exc}") from None
    if "\\u0000" in encoded:
        encoded = _JSON.encode(_without_nul(value))
    return encoded


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, Mapping):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nul(v) for v in value]
    return value
