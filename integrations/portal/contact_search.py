"""The workspace's contact list over the mirror: search, filters, ordering and keyset paging.

Built for locations with 100k contacts: the search matches every word of the query as a substring
of name, e-mail and phone through the trigram index `mirror_contact_search`; paging is by keyset
(the position after the last row shown, carried in an opaque cursor), so page 500 costs what page
1 costs and no page counts the whole list.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from integrations.mirror.models import (
    MirrorContact,
    MirrorUser,
    contact_search_text,
    contact_sort_name,
)
from integrations.reporting.models import ReportLabel
from tenants.models import Location

PAGE_SIZE = 50
MAX_WORDS = 5
UNASSIGNED = "none"  # the agent filter's value for contacts nobody is assigned to


@dataclass(frozen=True)
class Sort:
    label: StrOrPromise
    field: str
    descending: bool
    # Where rows without a value go. Chosen so the date orders read the (location, date) index
    # in either direction: PostgreSQL's own default (NULLS FIRST descending, LAST ascending).
    nulls_last: bool


SORTS = {
    "newest": Sort(_("Newest first"), "date_added", descending=True, nulls_last=False),
    "oldest": Sort(_("Oldest first"), "date_added", descending=False, nulls_last=True),
    "name": Sort(_("Name (A to Z)"), "sort_name", descending=False, nulls_last=True),
    "updated": Sort(_("Recently updated"), "ghl_updated_at", descending=True, nulls_last=False),
}
DEFAULT_SORT = "newest"


@dataclass(frozen=True)
class ContactFilters:
    q: str = ""
    tag: str = ""
    source: str = ""
    agent: str = ""  # a GHL user id, or UNASSIGNED
    created_from: date | None = None
    created_to: date | None = None
    sort: str = DEFAULT_SORT

    @property
    def narrowed(self) -> bool:
        """Whether anything but the order is chosen (an empty result then means "no match")."""
        return bool(
            self.q or self.tag or self.source or self.agent or self.created_from or self.created_to
        )


@dataclass
class ContactPage:
    contacts: list[MirrorContact]
    next_cursor: str = ""  # empty on the last page
    is_first: bool = True


class BadCursor(ValueError):
    pass


def search_words(raw: str) -> list[str]:
    """The lower-cased words to match; a phone-like word is also tried by its digits alone, so
    "(555) 010-2030" finds "+15550102030"."""
    return [w for w in raw.lower().split() if w][:MAX_WORDS]


def _word_filter(word: str) -> Q:
    found = Q(haystack__contains=word)
    digits = re.sub(r"\D", "", word)
    if len(digits) >= 3 and digits != word:
        found |= Q(haystack__contains=digits)
    return found


def _narrowed(
    queryset: QuerySet[MirrorContact], *, location: Location, filters: ContactFilters
) -> QuerySet[MirrorContact]:
    if filters.q:
        queryset = queryset.alias(haystack=contact_search_text())
        for word in search_words(filters.q):
            queryset = queryset.filter(_word_filter(word))
    if filters.tag:
        queryset = queryset.filter(tags__contains=[filters.tag])
    if filters.source:
        queryset = queryset.filter(source=filters.source)
    if filters.agent == UNASSIGNED:
        queryset = queryset.filter(assigned_to="")
    elif filters.agent:
        queryset = queryset.filter(assigned_to=filters.agent)
    zone = ZoneInfo(location.timezone or "UTC")
    if filters.created_from:
        start = datetime.combine(filters.created_from, time.min, tzinfo=zone)
        queryset = queryset.filter(date_added__gte=start)
    if filters.created_to:
        end = datetime.combine(filters.created_to + timedelta(days=1), time.min, tzinfo=zone)
        queryset = queryset.filter(date_added__lt=end)
    return queryset


def _ordered(queryset: QuerySet[MirrorContact], sort: Sort) -> QuerySet[MirrorContact]:
    if sort.field == "sort_name":
        queryset = queryset.annotate(sort_name=contact_sort_name())
    column = F(sort.field)
    nulls = {"nulls_last": True} if sort.nulls_last else {"nulls_first": True}
    first = column.desc(**nulls) if sort.descending else column.asc(**nulls)
    return queryset.order_by(first, "-pk" if sort.descending else "pk")


def _after(sort: Sort, value: Any, pk: int) -> Q:
    """The rows after (value, pk) in the sort's order, nulls where the order puts them."""
    name, op = sort.field, ("lt" if sort.descending else "gt")
    is_null, not_null = Q(**{f"{name}__isnull": True}), Q(**{f"{name}__isnull": False})
    if value is None:
        same = is_null & Q(**{f"pk__{op}": pk})
        return same if sort.nulls_last else same | not_null
    later = Q(**{f"{name}__{op}": value}) | Q(**{name: value, f"pk__{op}": pk})
    return later | is_null if sort.nulls_last else later


def cursor_encode(value: Any, pk: int) -> str:
    raw = value.isoformat() if isinstance(value, datetime) else value
    text = json.dumps([raw, pk], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def cursor_decode(cursor: str, sort: Sort) -> tuple[Any, int]:
    """(value, pk) from a cursor this sort made; BadCursor for anything else."""
    try:
        raw, pk = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(pk, int) or not (raw is None or isinstance(raw, str)):
            raise BadCursor(cursor)
        if raw is not None and sort.field != "sort_name":
            return datetime.fromisoformat(raw), pk
        return raw, pk
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadCursor(cursor) from exc


def contacts_search(
    *, location: Location, filters: ContactFilters, after: str = "", limit: int = PAGE_SIZE
) -> ContactPage:
    """One page of the location's contacts matching `filters`, after the `after` cursor (a bad
    cursor starts again from the first page: it only ever names a position)."""
    sort = SORTS.get(filters.sort, SORTS[DEFAULT_SORT])
    queryset = _ordered(
        _narrowed(MirrorContact.objects.for_location(location), location=location, filters=filters),
        sort,
    )
    is_first = True
    if after:
        try:
            value, pk = cursor_decode(after, sort)
            queryset = queryset.filter(_after(sort, value, pk))
            is_first = False
        except BadCursor:
            pass
    rows = list(queryset[: limit + 1])
    page = ContactPage(contacts=rows[:limit], is_first=is_first)
    if len(rows) > limit:
        last = rows[limit - 1]
        page.next_cursor = cursor_encode(getattr(last, sort.field), last.pk)
    return page


def agent_names(*, location: Location) -> dict[str, str]:
    """The location's agents (its CRM users) by id, for display: name, else e-mail."""
    return {
        user.ghl_id: str(user)
        for user in MirrorUser.objects.for_location(location).order_by("first_name", "pk")
    }


def contact_source_choices(*, location: Location) -> list[str]:
    """The sources seen on the location's leads, from the report labels (a small table kept by
    the report refresh) rather than a DISTINCT over every contact."""
    return sorted(
        ReportLabel.objects.for_location(location)
        .filter(kind=ReportLabel.Kind.SOURCE)
        .values_list("label", flat=True),
        key=str.lower,
    )
