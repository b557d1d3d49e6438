"""A list page's statement, composed by the ORM once per shape and reused with new values.

Building the page's query — ``values()`` with one JSON expression per row, ``order_by``, the
cursor's filter, the slice — and compiling it to SQL cost about 0.5 ms of the ~1.9 ms a contact
list request spent in Python, on every request, for SQL text that only changes with the shape
of the request (P9, docs/api.md). :class:`PreparedPage` stands in for the queryset that DRF's
``CursorPagination`` pages through: it records what the paginator asks for (an ordering, at most
one position filter, a slice) and, when iterated, runs the statement cached for that shape with
this request's values, or composes it through the ORM the first time.

A shape is the scoped queryset's FROM and WHERE (its tables and joins, its compiled WHERE text; its
values are the statement's first parameters), the page's columns, its ordering, whether and how
it starts from a cursor position, and the slice. A statement is kept only when composing it
showed that it takes exactly those parameters in that order and that its columns need no
conversion in Python; anything else — an annotated, distinct or grouped queryset, a WHERE that
cannot be compiled alone — is answered by the ORM as before, so the pages are the same either way
(tests/kernel/test_prepared_page.py compares them).
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator
from typing import Any, Self

from django.core.exceptions import EmptyResultSet, FieldDoesNotExist, FullResultSet
from django.db import connections
from django.db.models import QuerySet

from ..scoping import ScopedQuerySet
from .pagination import ordering_field

_SIZE = 512  # shapes kept per process: page sizes x orderings x offsets x sparse field sets


class _Statements:
    """Shape → SQL, the oldest dropped first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: dict[tuple[Any, ...], str] = {}
        self._lock = threading.Lock()

    def get(self, shape: tuple[Any, ...]) -> str | None:
        return self._entries.get(shape)

    def put(self, shape: tuple[Any, ...], statement: str) -> None:
        with self._lock:
            self._entries.pop(shape, None)
            self._entries[shape] = statement
            while len(self._entries) > self.size:
                del self._entries[next(iter(self._entries))]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


statements = _Statements(_SIZE)


def _plain(queryset: QuerySet[Any]) -> bool:
    """Nothing but tables and a WHERE: what the shape can describe completely."""
    query = queryset.query
    return not (
        query.annotations
        or query.extra
        or query.extra_tables
        or query.distinct
        or query.combinator
        or query.group_by is not None
        or query.select_related
        or query.low_mark
        or query.high_mark is not None
        or query.where.contains_aggregate
    )


class PreparedPage:
    """The page DRF's cursor paginator asks of ``queryset`` — ``order_by``, one
    ``filter(<field>__lt|gt=position)``, a slice — as dicts of the ordering `key` and the `row`
    expression under `alias`."""

    def __init__(
        self, queryset: QuerySet[Any], *, key: str, alias: str, row: Any, row_shape: Hashable
    ) -> None:
        self._base = queryset
        self._key = key
        self._alias = alias
        self._row = row
        self._row_shape = row_shape  # what tells two `row` expressions apart
        self._ordering: tuple[str, ...] = ()
        self._position: tuple[str, Any] | None = None  # (lookup, value)
        self._slice = slice(None)

    def _copy(self, **changes: Any) -> Self:
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__, **changes)
        return clone

    @property
    def model(self) -> Any:
        return self._base.model

    def order_by(self, *fields: str) -> Self:
        return self._copy(_ordering=fields)

    def filter(self, **lookups: Any) -> Self:
        if self._position is not None or len(lookups) != 1:
            raise TypeError("a cursor page filters once, by its position")
        ((lookup, value),) = lookups.items()
        return self._copy(_position=(lookup, value))

    def __getitem__(self, part: slice) -> Self:
        if not isinstance(part, slice) or part.step is not None or self._slice != slice(None):
            raise TypeError("a cursor page is sliced once")
        return self._copy(_slice=part)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._rows())

    # --- the statement ----------------------------------------------------------------------

    def _queryset(self) -> QuerySet[Any]:
        """What the ORM would run: the statement is composed from this."""
        queryset = self._base.values(self._key, **{self._alias: self._row})
        queryset = queryset.order_by(*self._ordering)
        if self._position is not None:
            queryset = queryset.filter(**dict([self._position]))
        return queryset[self._slice]

    def _rows(self) -> list[dict[str, Any]]:
        if isinstance(self._base, ScopedQuerySet):
            self._base._require_scope()  # as evaluating the queryset would
        position: list[Any] = []
        if self._position is not None:
            try:
                position.append(self._position_param(*self._position))
            except FieldDoesNotExist:  # ordered across a relation: the ORM knows the way
                return list(self._queryset())
        found = self._where()
        if found is None:
            return list(self._queryset())
        where_sql, where_params = found
        aliases = self._base.query.alias_map.items()
        shape = (
            self._base.model,
            self._base.db,
            tuple((alias, getattr(join, "join_type", None)) for alias, join in aliases),
            where_sql,
            self._key,
            self._alias,
            self._row_shape,
            self._ordering,
            None if self._position is None else self._position[0],
            self._slice.start,
            self._slice.stop,
        )
        params = [*where_params, *position]
        statement = statements.get(shape)
        if statement is None:
            statement = self._compose(params)
            if statement is None:
                return list(self._queryset())
            statements.put(shape, statement)
        with connections[self._base.db].cursor() as cursor:
            cursor.execute(statement, params)
            return [{self._key: key, self._alias: row} for key, row in cursor.fetchall()]

    def _where(self) -> tuple[str, tuple[Any, ...]] | None:
        if not _plain(self._base):
            return None
        query = self._base.query
        compiler = query.get_compiler(using=self._base.db)
        try:
            sql, params = compiler.compile(query.where)
        except (EmptyResultSet, FullResultSet):
            return None
        return sql, tuple(params)

    def _position_param(self, lookup: str, value: Any) -> Any:
        """The cursor position as the ORM would send it for ``<field>__lt|gt``."""
        field = ordering_field(self._base.model, lookup.rsplit("__", 1)[0])
        connection = connections[self._base.db]
        # A position that does not fit the field was refused with the cursor (pagination.py).
        return field.get_db_prep_value(field.get_prep_value(value), connection, prepared=True)

    def _compose(self, params: list[Any]) -> str | None:
        """The ORM's SQL for this shape, if it takes `params` as they are and needs nothing
        done to its columns in Python; else None (the ORM answers every time)."""
        queryset = self._queryset()
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, composed = compiler.as_sql()
        if list(composed) != params:
            return None
        columns = [expression for expression, _sql, _alias in compiler.select]
        if len(columns) != 2 or compiler.get_converters(columns):
            return None
        return str(sql)
