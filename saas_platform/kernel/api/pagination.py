"""Cursor pagination: stable under inserts, no COUNT(*), and the same query count whatever the
page size. A view names its default ordering and the orderings a caller may ask for:

    default_ordering = "-pk"
    ordering_fields = {"email": "email"}   # public name → model field

``?ordering=email`` or ``?ordering=-email``; anything else is a 400 in the envelope.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

ORDERING_PARAM = "ordering"


def ordering_field(model: Any, name: str) -> Any:
    """The model field an ordering or cursor names (``pk`` included); FieldDoesNotExist for a
    name across a relation."""
    meta = model._meta
    return meta.pk if name == "pk" else meta.get_field(name)


class ApiCursorPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-pk"

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: Any) -> tuple[str, ...]:
        default = getattr(view, "default_ordering", self.ordering)
        asked = request.query_params.get(ORDERING_PARAM)
        if asked is None:  # `?ordering=` (empty) is not a sort key: refused below
            return (default,)
        allowed: dict[str, str] = getattr(view, "ordering_fields", {})
        descending = asked.startswith("-")
        field = allowed.get(asked.removeprefix("-"))
        if field is None:
            choices = ", ".join(sorted(allowed)) or "none"
            raise ValidationError({ORDERING_PARAM: [f"Order by one of: {choices} (- for desc)."]})
        return (f"-{field}" if descending else field,)

    def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any] | None:
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Request) -> Cursor | None:
        """DRF checks a cursor's encoding, not that its position fits the ordering's field: a
        made-up position ("p=abc" for an id) would fail in the query as a 500."""
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None:
            return cursor
        try:
            field = ordering_field(self._model, self.ordering[0].lstrip("-"))
        except FieldDoesNotExist:  # ordered across a relation: left to the query
            return cursor
        try:
            field.get_prep_value(cursor.position)
        except (TypeError, ValueError, DjangoValidationError) as exc:
            raise NotFound(self.invalid_cursor_message) from exc
        return cursor

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return int(self.page_size)
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {"data": data, "next": self.get_next_link(), "previous": self.get_previous_link()}
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        def link(example: str | None) -> dict[str, Any]:
            return {"type": "string", "nullable": True, "format": "uri", "example": example}

        following = "https://portal.example.com/api/v1/audit-log/?cursor=cD0yMDI2"
        return {
            "type": "object",
            "required": ["data", "next", "previous"],
            "properties": {"data": schema, "next": link(following), "previous": link(None)},
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                }
        allowed: dict[str, str] = getattr(view, "ordering_fields", {})
        if allowed:
            names = sorted(allowed)
            parameters.append(
                {
                    "name": ORDERING_PARAM,
                    "required": False,
                    "in": "query",
                    "description": "Sort key; prefix with - for descending.",
                    "schema": {"type": "string", "enum": names + [f"-{n}" for n in names]},
                }
            )
        return parameters
