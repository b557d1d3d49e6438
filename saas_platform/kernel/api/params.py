"""Query filters from an allow-list, and sparse fields (``?fields=id,email``).

A view declares its filters; every other query parameter (besides paging, ordering and fields)
is refused with 400 ``unknown_parameter``, so a typo never silently returns everything:

    filters = {
        "email": QueryFilter("email__iexact", description="Exact email, any case."),
        "updated_since": QueryFilter("ghl_updated_at__gte", kind="datetime"),
    }

A filter whose value names another object (an id) sets ``resolve``: a callable of
``(view, value)`` returning the object *within the caller's tenant* or raising a 404.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request

from .errors import UnknownParameter

FIELDS_PARAM = "fields"
RESERVED = frozenset({"cursor", "page_size", "ordering", FIELDS_PARAM})
Kind = Literal["string", "integer", "datetime", "boolean"]


@dataclass(frozen=True)
class QueryFilter:
    lookup: str
    kind: Kind = "string"
    description: str = ""
    resolve: Callable[[Any, Any], Any] | None = None
    max_length: int = 200
    # For what one lookup cannot say (a search over several fields): (queryset, value) → queryset.
    apply: Callable[[QuerySet[Any], Any], QuerySet[Any]] | None = None


def _parse(name: str, spec: QueryFilter, raw: str) -> Any:
    if len(raw) > spec.max_length:
        raise ValidationError({name: [f"At most {spec.max_length} characters."]})
    if spec.kind == "integer":
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
            raise ValidationError({name: ["A whole number."]})
        return int(raw)
    if spec.kind == "datetime":
        try:
            parsed: datetime | None = parse_datetime(raw)
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise ValidationError({name: ["An ISO 8601 date-time with a time zone."]})
        return parsed
    if spec.kind == "boolean":
        if raw not in ("true", "false"):
            raise ValidationError({name: ["true or false."]})
        return raw == "true"
    if "\x00" in raw:
        raise ValidationError({name: ["Not a valid string."]})
    return raw


def check_known_parameters(request: Request, view: Any) -> None:
    """Lists take their filters, paging and ordering; single objects only ``fields``."""
    filters: dict[str, QueryFilter] = getattr(view, "filters", {})
    if getattr(view, "action", "list") != "list":
        filters, reserved = {}, frozenset({FIELDS_PARAM})
    else:
        reserved = RESERVED
    unknown = sorted(set(request.query_params) - reserved - set(filters))
    if unknown:
        raise UnknownParameter(
            f"Unknown query parameter(s): {', '.join(unknown)}. "
            f"Filters here: {', '.join(sorted(filters)) or 'none'}."
        )


class AllowListFilter(BaseFilterBackend):
    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        check_known_parameters(request, view)
        if getattr(view, "action", "list") != "list":
            return queryset
        filters: dict[str, QueryFilter] = getattr(view, "filters", {})
        for name, spec in filters.items():
            raw = request.query_params.get(name)
            if raw is None:
                continue
            value = _parse(name, spec, raw)
            if spec.resolve is not None:
                value = spec.resolve(view, value)
            if spec.apply is not None:
                queryset = spec.apply(queryset, value)
            else:
                queryset = queryset.filter(**{spec.lookup: value})
        return queryset

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        types: dict[str, dict[str, Any]] = {
            "string": {"type": "string"},
            "integer": {"type": "integer", "minimum": 0},
            "datetime": {"type": "string", "format": "date-time"},
            "boolean": {"type": "boolean"},
        }
        filters: dict[str, QueryFilter] = getattr(view, "filters", {})
        out = []
        for name, spec in sorted(filters.items()):
            schema = dict(types[spec.kind])
            if spec.kind == "string":
                schema["maxLength"] = spec.max_length
            out.append(
                {
                    "name": name,
                    "required": False,
                    "in": "query",
                    "description": spec.description,
                    "schema": schema,
                }
            )
        return out


def sparse_field_names(request: Request | None, available: Iterable[str]) -> list[str] | None:
    """The names in ``?fields=`` of a GET, in `available`'s order; None when not asked. An
    empty or unknown name is a 400 listing the choices."""
    if request is None or request.method != "GET":
        return None
    raw = request.query_params.get(FIELDS_PARAM)
    if raw is None:
        return None
    choices = list(available)
    wanted = {name.strip() for name in raw.split(",") if name.strip()}
    if not wanted or not wanted <= set(choices):
        raise ValidationError({FIELDS_PARAM: [f"Choose from: {', '.join(sorted(choices))}."]})
    return [name for name in choices if name in wanted]


class SparseFieldsMixin:
    """For serializers: only the fields named in ``?fields=`` (from the serializer's own
    allow-list; an unknown name is a 400), else all of them."""

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields: dict[str, serializers.Field[Any, Any, Any, Any]] = super().get_fields()  # type: ignore[misc]
        wanted = sparse_field_names(getattr(self, "context", {}).get("request"), fields)
        if wanted is None:
            return fields
        return {name: fields[name] for name in wanted}


class StrictInputMixin:
    """For write serializers: a body is a JSON object holding only the serializer's own fields;
    anything else (a read-only or unknown field) is a 400 naming it, never silently dropped."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValidationError({"non_field_errors": ["Send a JSON object."]})
        writable = {
            name
            for name, field in self.fields.items()  # type: ignore[attr-defined]
            if not field.read_only
        }
        unknown = sorted(set(data) - writable)
        if unknown:
            raise ValidationError({name: ["This field is not accepted here."] for name in unknown})
        return super().to_internal_value(data)  # type: ignore[misc]
