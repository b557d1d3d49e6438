"""List pages whose JSON rows PostgreSQL writes, instead of a model instance and a serializer per
row in Python.

A DRF serializer cost about 0.2 ms a row, and reading a page of model instances (each date-time
parsed in Python) about as much again: a 50-row page spent ten times longer becoming JSON than
being found (P9, docs/api.md). For a serializer whose fields are all plain columns,
:class:`JsonRows` reads its allow-list once — public name, column (``source``) and type — and a
page is then one ``json_build_object(...)::text`` per row, selected with the ordering key the
cursor needs, and written into the body as it is (:class:`JsonPage`).

The rows say what the serializer would say: the same names in the same order, strings, booleans
and lists of strings as stored, ``null`` for NULL, and date-times as DRF writes them in UTC
(ISO 8601, microseconds only when there are any, ``Z``). Only those field types are taken; a
serializer with any other field (a method field, a relation, a number) is refused when the plan
is built, and a request served in another time zone than UTC falls back to the serializer, so
the two cannot drift apart unnoticed (tests/integrations/api/test_contact_list_rows.py
compares them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Func, QuerySet
from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from .params import sparse_field_names
from .prepared import PreparedPage

ROW_ALIAS = "api_row_json"
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_TEXT_COLUMNS = (models.CharField, models.TextField)
# DRF's ISO 8601: seconds, then microseconds only when not zero (datetime.isoformat()).
_WHOLE = 'YYYY-MM-DD"T"HH24:MI:SS"Z"'
_FRACTION = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


class UtcIso(Func):
    """A timestamptz as DRF writes it in UTC, or NULL."""

    output_field = models.TextField()

    def as_sql(  # type: ignore[override]
        self, compiler: Any, connection: Any, **_: Any
    ) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.get_source_expressions()[0])
        utc = f"({sql} AT TIME ZONE 'UTC')"
        text = (
            f"CASE WHEN date_trunc('second', {sql}) = {sql} THEN to_char({utc}, '{_WHOLE}') "
            f"ELSE to_char({utc}, '{_FRACTION}') END"
        )
        return text, [*params, *params, *params, *params]


class JsonBuildObject(Func):
    """``json_build_object('name', value, ...)::text``: the keys keep their order (jsonb would
    sort them)."""

    output_field = models.TextField()

    def __init__(self, **values: Any) -> None:
        if not all(_NAME.match(name) for name in values):
            raise ValueError(f"not a plain field name among {sorted(values)}")
        self.names = list(values)
        super().__init__(*values.values())

    def as_sql(  # type: ignore[override]
        self, compiler: Any, connection: Any, **_: Any
    ) -> tuple[str, list[Any]]:
        parts, params = [], []
        for name, value in zip(self.names, self.get_source_expressions(), strict=True):
            sql, value_params = compiler.compile(value)
            parts.append(f"'{name}', {sql}")  # names checked above: no quoting needed
            params += value_params
        return f"json_build_object({', '.join(parts)})::text", params


def _inherits(field: Any, base: type[Any], *methods: str) -> bool:
    """`field` is a `base` that writes (and converts) values as `base` does."""
    return isinstance(field, base) and all(
        getattr(type(field), name) is getattr(base, name)
        for name in ("to_representation", *methods)
    )


def _expression(field: Any, column: Any) -> Any:
    """The SQL that writes `column` as `field` would, or None when there is none."""
    if _inherits(field, serializers.CharField) and isinstance(column, _TEXT_COLUMNS):
        return F(column.name)
    if _inherits(field, serializers.BooleanField) and isinstance(column, models.BooleanField):
        return F(column.name)
    if (
        _inherits(field, serializers.ListField)
        and _inherits(field.child, serializers.CharField)
        and isinstance(getattr(column, "base_field", None), _TEXT_COLUMNS)
    ):
        return F(column.name)
    if (
        _inherits(field, serializers.DateTimeField, "enforce_timezone")
        and isinstance(column, models.DateTimeField)
        and settings.USE_TZ  # timestamptz columns
    ):
        form = getattr(field, "format", api_settings.DATETIME_FORMAT)
        if isinstance(form, str) and form.lower() == ISO_8601 and not hasattr(field, "timezone"):
            return UtcIso(F(column.name))
    return None


def _column(model: type[models.Model], source: Any) -> models.Field[Any, Any] | None:
    if not isinstance(source, str):
        return None
    try:
        field = model._meta.get_field(source)
    except Exception:
        return None
    if not isinstance(field, models.Field) or field.is_relation:
        return None
    return field


class JsonRows:
    """The plan of one model serializer: ``{public name: SQL expression}`` in its field order."""

    def __init__(self, serializer_class: type[serializers.ModelSerializer[Any]]) -> None:
        model = serializer_class.Meta.model
        self.plan: dict[str, Any] = {}
        for name, field in serializer_class().fields.items():
            column = None if field.write_only else _column(model, field.source)
            expression = None if column is None else _expression(field, column)
            if expression is None:
                raise TypeError(f"{serializer_class.__name__}.{name}: PostgreSQL cannot write it")
            self.plan[name] = expression

    @property
    def names(self) -> list[str]:
        return list(self.plan)

    def row(self, names: list[str]) -> JsonBuildObject:
        return JsonBuildObject(**{name: self.plan[name] for name in names})


@cache
def json_rows(serializer_class: type[serializers.ModelSerializer[Any]]) -> JsonRows:
    return JsonRows(serializer_class)


@dataclass(frozen=True)
class JsonPage:
    """A cursor page whose rows are JSON text already."""

    rows: list[str]
    next: str | None
    previous: str | None


class ApiJSONRenderer(JSONRenderer):
    """DRF's JSON renderer, which also writes a :class:`JsonPage` without parsing its rows."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if not isinstance(data, JsonPage):
            rendered: bytes = super().render(data, accepted_media_type, renderer_context)
            return rendered
        links = json.dumps(
            {"next": data.next, "previous": data.previous},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        body = f'{{"data":[{",".join(data.rows)}],{links[1:]}'
        # As DRF does: these two are valid JSON but end a line in JavaScript.
        return body.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()


class JsonRowsListMixin:
    """For a list view (a GenericViewSet with cursor pagination and ApiJSONRenderer) whose
    serializer's fields are all columns PostgreSQL can write: the same filters, ordering,
    pagination, ``?fields=``, errors and body as ``ListModelMixin``, with the rows built by the
    database."""

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        view: Any = self
        plan = json_rows(view.get_serializer_class())
        if timezone.get_current_timezone_name() != "UTC":  # the SQL writes UTC only
            response: Response = super().list(request, *args, **kwargs)  # type: ignore[misc]
            return response
        names = sparse_field_names(request, plan.names) or plan.names
        queryset: QuerySet[Any] = view.filter_queryset(view.get_queryset())
        key = view.paginator.get_ordering(request, queryset, view)[0].lstrip("-")
        page = view.paginate_queryset(
            PreparedPage(
                queryset,
                key=key,
                alias=ROW_ALIAS,
                row=plan.row(names),
                row_shape=(view.get_serializer_class(), tuple(names)),
            )
        )
        paginator = view.paginator
        return Response(
            JsonPage(
                rows=[record[ROW_ALIAS] for record in page],
                next=paginator.get_next_link(),
                previous=paginator.get_previous_link(),
            )
        )
