"""GHL's paging styles, each written once as a *pager* (which call comes first, which follows a
given answer, where the items are) and walked by either client face:

    for page in pages(client, SkipLimit(lambda skip, limit: ops.users_search(...), "users")):
    async for page in apages(aclient, SearchAfter(lambda after: ops.contacts_search(...), ...)):
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from .client import AsyncGhlClient, GhlClient
from .operations import Operation

Page = list[dict[str, Any]]
Op = Operation[Any]


class Pager(Protocol):
    def first(self) -> Op: ...

    def items(self, body: Any) -> Page: ...

    def next(self, body: Any, items: Page) -> Op | None: ...


def _items(body: Any, key: str) -> Page:
    return list(body.get(key) or []) if isinstance(body, dict) else []


@dataclass
class SkipLimit:
    """`skip`/`limit` (users, installed locations): stop on a short page or at `count`."""

    make: Callable[[int, int], Op]
    key: str
    size: int = 100
    _seen: int = 0

    def first(self) -> Op:
        return self.make(0, self.size)

    def items(self, body: Any) -> Page:
        return _items(body, self.key)

    def next(self, body: Any, items: Page) -> Op | None:
        self._seen += len(items)
        total = body.get("count") if isinstance(body, dict) else None
        if len(items) < self.size or (isinstance(total, int) and self._seen >= total):
            return None
        return self.make(self._seen, self.size)


@dataclass
class StartAfter:
    """`startAfter` (epoch ms) + `startAfterId`, next values in `meta` (legacy contacts,
    opportunities search)."""

    make: Callable[[int | None, str | None], Op]
    key: str
    _cursor: tuple[int | None, str | None] = (None, None)

    def first(self) -> Op:
        return self.make(None, None)

    def items(self, body: Any) -> Page:
        return _items(body, self.key)

    def next(self, body: Any, items: Page) -> Op | None:
        meta = body.get("meta") or {} if isinstance(body, dict) else {}
        after, after_id = meta.get("startAfter"), meta.get("startAfterId")
        if not items or after is None or not after_id:
            return None
        cursor = (int(after), str(after_id))
        if cursor == self._cursor:  # GHL repeating itself: stop rather than loop
            return None
        self._cursor = cursor
        return self.make(*cursor)


@dataclass
class SearchAfter:
    """`searchAfter`: each record carries the sort values that start the next page (contact
    search; required past 10,000 records)."""

    make: Callable[[list[Any] | None], Op]
    key: str
    size: int

    def first(self) -> Op:
        return self.make(None)

    def items(self, body: Any) -> Page:
        return _items(body, self.key)

    def next(self, body: Any, items: Page) -> Op | None:
        last = items[-1].get("searchAfter") if items else None
        if len(items) < self.size or not last:
            return None
        return self.make(list(last))


@dataclass
class LastId:
    """`lastMessageId` + `nextPage` (messages of a conversation)."""

    make: Callable[[str | None], Op]
    key: str = "messages"

    def first(self) -> Op:
        return self.make(None)

    def items(self, body: Any) -> Page:
        return _items(body, self.key)

    def next(self, body: Any, items: Page) -> Op | None:
        if not isinstance(body, dict) or not body.get("nextPage") or not body.get("lastMessageId"):
            return None
        return self.make(str(body["lastMessageId"]))


@dataclass
class StartAfterDate:
    """`startAfterDate` = the sort value of the last row (conversation search)."""

    make: Callable[[int | None], Op]
    key: str
    size: int
    sort_field: str = "lastMessageDate"

    def first(self) -> Op:
        return self.make(None)

    def items(self, body: Any) -> Page:
        return _items(body, self.key)

    def next(self, body: Any, items: Page) -> Op | None:
        if len(items) < self.size or self.sort_field not in items[-1]:
            return None
        return self.make(int(items[-1][self.sort_field]))


def pages(client: GhlClient, pager: Pager) -> Iterator[Page]:
    op: Op | None = pager.first()
    while op is not None:
        body = client.run(op)
        items = pager.items(body)
        if items:
            yield items
        op = pager.next(body, items)


async def apages(client: AsyncGhlClient, pager: Pager) -> AsyncIterator[Page]:
    op: Op | None = pager.first()
    while op is not None:
        body = await client.run(op)
        items = pager.items(body)
        if items:
            yield items
        op = pager.next(body, items)
