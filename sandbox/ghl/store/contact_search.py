"""``POST /contacts/search``: filters, query, sort and searchAfter over one location's contacts.

A linear scan with predicates compiled once per request; 100k contacts scan in well under 100 ms.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from sandbox.ghl.clock import iso_ms, parse_iso_ms
from sandbox.ghl.errors import ApiError, bad_request, unprocessable
from sandbox.ghl.store.contacts import Contact, ContactStore

Predicate = Callable[[Contact], bool]
OPERATORS = ("eq", "not_eq", "contains", "not_contains", "exists", "not_exists", "range")
MAX_PAGE_LIMIT = 500
MAX_PAGED_RECORDS = 10_000
# Fields whose values compare as timestamps rather than text.
DATE_FIELDS = {"dateAdded", "dateUpdated", "lastActivity", "dateOfBirth"}
# Friendlier aliases GHL's search accepts for the stored lower-case helpers.
FIELD_ALIASES = {
    "firstName": "firstNameLowerCase",
    "lastName": "lastNameLowerCase",
    "fullName": "fullNameLowerCase",
    "email": "emailLowerCase",
}


def _norm(value: Any, field: str) -> Any:
    if field in DATE_FIELDS and isinstance(value, str):
        try:
            return parse_iso_ms(value)
        except ValueError:
            return value
    if isinstance(value, str):
        return value.lower()
    return value


def _getter(field: str) -> Callable[[Contact], Any]:
    if field.startswith("customFields."):
        wanted = field.split(".", 1)[1]

        def custom(c: Contact) -> Any:
            for item in c.get("customFields", ()):
                if item.get("id") == wanted:
                    return item.get("value")
            return None

        return custom
    key = FIELD_ALIASES.get(field, field)
    return lambda c: c.get(key)


def _bound(value: Any, field: str) -> Any:
    """Range bounds; dates become GHL's ISO form, which orders correctly as text."""
    if field in DATE_FIELDS:
        try:
            millis = int(value) if isinstance(value, (int, float)) else parse_iso_ms(str(value))
        except ValueError as exc:
            raise unprocessable(f"filters.value for {field} must be a date") from exc
        return iso_ms(millis)
    return value


def _fast_equals(key: str, wanted: set[Any], negate: bool) -> Predicate:
    """The hot path (tags, city, source, ...): set membership on the stored value."""
    if key == "tags":  # stored normalised (lower-case), so no per-row work
        if negate:
            return lambda c: wanted.isdisjoint(c.get("tags", ()))
        return lambda c: not wanted.isdisjoint(c.get("tags", ()))

    def equals(c: Contact) -> bool:
        value = c.get(key)
        if type(value) is str:
            hit = value.lower() in wanted
        elif type(value) is list:
            hit = any((v.lower() if type(v) is str else v) in wanted for v in value)
        else:
            hit = value is not None and value in wanted
        return hit is not negate

    return equals


def _compile_leaf(spec: dict[str, Any]) -> Predicate:
    field = spec.get("field")
    operator = spec.get("operator")
    if not isinstance(field, str) or not field:
        raise unprocessable("filters.field must be a string")
    if operator not in OPERATORS:
        raise unprocessable(
            "filters.operator must be one of the following values: " + ", ".join(OPERATORS)
        )
    raw = spec.get("value")
    get = _getter(field)

    if operator in ("exists", "not_exists"):
        want = operator == "exists"
        return lambda c: (get(c) not in (None, "", [])) is want

    if operator == "range":
        if not isinstance(raw, dict):
            raise unprocessable("filters.value must be an object for range")
        bounds = [
            (op, _bound(v, field)) for op, v in raw.items() if op in ("gt", "gte", "lt", "lte")
        ]

        def in_range(c: Contact) -> bool:
            value = get(c)
            if value is None:
                return False
            try:
                for op, bound in bounds:
                    if not (
                        (op == "gt" and value > bound)
                        or (op == "gte" and value >= bound)
                        or (op == "lt" and value < bound)
                        or (op == "lte" and value <= bound)
                    ):
                        return False
            except TypeError:
                return False
            return True

        return in_range

    wanted = {_norm(v, field) for v in (raw if isinstance(raw, list) else [raw])}
    dates = field in DATE_FIELDS
    negate = operator in ("not_eq", "not_contains")

    if operator in ("eq", "not_eq") and not dates and not field.startswith("customFields."):
        return _fast_equals(FIELD_ALIASES.get(field, field), wanted, negate)

    needles = [w for w in wanted if isinstance(w, str)]
    if (
        operator in ("contains", "not_contains")
        and not field.startswith("customFields.")
        and len(needles) == 1
    ):
        needle, key = needles[0], FIELD_ALIASES.get(field, field)

        def contains(c: Contact) -> bool:
            value = c.get(key)
            if type(value) is str:
                return (needle in value.lower()) is not negate
            if type(value) is list:
                return any(type(v) is str and needle in v.lower() for v in value) is not negate
            return negate

        return contains

    def matches(c: Contact) -> bool:
        value = get(c)
        values = [_norm(v, field) for v in (value if isinstance(value, list) else [value])]
        if operator in ("eq", "not_eq"):
            hit = any(v in wanted for v in values)
        else:
            hit = any(isinstance(v, str) and n in v for v in values for n in needles)
        return hit is not negate

    return matches


def compile_filters(filters: Any) -> Predicate | None:
    if filters in (None, []):
        return None
    if isinstance(filters, list):
        return _all([p for p in (compile_filters(f) for f in filters) if p])
    if not isinstance(filters, dict):
        raise unprocessable("filters must be an array")
    if "group" in filters:
        group = str(filters["group"]).upper()
        children = [p for p in (compile_filters(f) for f in filters.get("filters", [])) if p]
        if group == "OR":
            return lambda c: any(p(c) for p in children)
        if group == "AND":
            return _all(children)
        raise unprocessable("filters.group must be one of the following values: AND, OR")
    return _compile_leaf(filters)


def _query_predicate(query: str) -> Predicate:
    needle = query.strip().lower()
    digits = "".join(ch for ch in needle if ch.isdigit())

    def hit(c: Contact) -> bool:
        if needle in c.get("fullNameLowerCase", "") or needle in c.get("emailLowerCase", ""):
            return True
        if needle in (c.get("companyName") or "").lower():
            return True
        return bool(digits) and len(digits) >= 3 and digits in c.get("phone", "")

    return hit


def search(store: ContactStore, body: dict[str, Any]) -> tuple[list[Contact], int]:
    page_limit = body.get("pageLimit", 20)
    page = body.get("page", 1)
    search_after = body.get("searchAfter")
    if not isinstance(page_limit, int) or not 1 <= page_limit <= MAX_PAGE_LIMIT:
        raise unprocessable(f"pageLimit must not be greater than {MAX_PAGE_LIMIT}")
    if not isinstance(page, int) or page < 1:
        raise unprocessable("page must not be less than 1")
    if search_after is not None and "page" in body and page != 1:
        raise bad_request("page and searchAfter cannot be used together")
    if search_after is None and page * page_limit > MAX_PAGED_RECORDS:
        raise bad_request("Use searchAfter to paginate beyond 10000 records")
    query = body.get("query") or ""
    if len(query) > 75:
        raise unprocessable("query must be shorter than or equal to 75 characters")

    predicates = [p for p in (compile_filters(body.get("filters")),) if p]
    if query:
        predicates.append(_query_predicate(query))
    sort = body.get("sort") or [{"field": "dateAdded", "direction": "desc"}]
    if not isinstance(sort, list) or not sort or not isinstance(sort[0], dict):
        raise unprocessable("sort must be an array")
    field = str(sort[0].get("field", "dateAdded"))
    descending = str(sort[0].get("direction", "desc")).lower() == "desc"

    predicate = _all(predicates)
    if field == "dateAdded":
        # The store is already ordered by (dateAdded, id): filter without sorting.
        source = store.iter_ordered(reverse=descending)
        matched = list(source) if predicate is None else [c for c in source if predicate(c)]
        added = store.added_ms
        window = _window(
            matched, page, page_limit, search_after, descending, lambda c: (added[c["id"]], c["id"])
        )
        return [c | {"searchAfter": [added[c["id"]], c["id"]]} for c in window], len(matched)

    rows = [c for c in store.by_id.values() if predicate is None or predicate(c)]
    get = _getter(field)
    numeric = all(v is None or isinstance(v, (int, float)) for v in map(get, rows[:200]))

    def sort_key(c: Contact) -> tuple[Any, str]:
        value = get(c)
        if numeric:
            return (float("-inf") if value is None else value), c["id"]
        return ("" if value is None else str(value).lower()), c["id"]

    if search_after is not None:
        target = _cursor(search_after)
        try:
            rows_after = [
                c for c in rows if (sort_key(c) < target if descending else sort_key(c) > target)
            ]
        except TypeError as exc:
            raise ApiError(422, ["searchAfter does not match the sort field"]) from exc
        offset, candidates = 0, rows_after
    else:
        offset, candidates = (page - 1) * page_limit, rows
    pick = heapq.nlargest if descending else heapq.nsmallest
    window = pick(offset + page_limit, candidates, key=sort_key)[offset:]
    return [c | {"searchAfter": list(sort_key(c))} for c in window], len(rows)


def _cursor(cursor: Any) -> tuple[Any, str]:
    if not isinstance(cursor, list) or len(cursor) != 2:
        raise unprocessable("searchAfter must contain 2 elements")
    return cursor[0], str(cursor[1])


def _all(predicates: list[Predicate]) -> Predicate | None:
    if not predicates:
        return None
    if len(predicates) == 1:
        return predicates[0]
    if len(predicates) == 2:
        first, second = predicates
        return lambda c: first(c) and second(c)
    return lambda c: all(p(c) for p in predicates)


def _window(
    ordered: list[Contact],
    page: int,
    limit: int,
    cursor: Any,
    descending: bool,
    key: Callable[[Contact], tuple[Any, str]],
) -> list[Contact]:
    if cursor is None:
        return ordered[(page - 1) * limit : page * limit]
    target = _cursor(cursor)
    try:
        for index, contact in enumerate(ordered):
            here = key(contact)
            if (here < target) if descending else (here > target):
                return ordered[index : index + limit]
    except TypeError as exc:
        raise ApiError(422, ["searchAfter does not match the sort field"]) from exc
    return []
