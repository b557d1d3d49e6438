"""A wire-level fake of Airtable's Web API (v0) for tests, installed on a respx router.

It keeps bases, tables and records in memory and answers the requests the connector sends, in
Airtable's documented shapes:

* ``GET /v0/{base}/{table}``: ``pageSize`` (≤ 100), ``offset`` (an iterator fixed when the
  listing started, ``itr…/rec…``), ``fields[]``, ``returnFieldsByFieldId``, and
  ``filterByFormula`` of exactly two forms: ``IS_AFTER({Field}, '<ISO time>')`` and
  ``{Field} = '<text>'``; records ``{"id", "createdTime", "fields"}`` with empty fields left out.
* ``POST`` / ``PATCH`` ``/v0/{base}/{table}`` ``{"records": [...], "typecast"}``, at most 10 records
  (else 422 ``INVALID_RECORDS``); ``DELETE`` with ``records[]`` (at most 10) or
  ``/v0/{base}/{table}/{rec}``.
* ``GET /v0/meta/bases/{base}/tables`` (needs the ``schema.bases:read`` scope).
* Bearer tokens (401 ``AUTHENTICATION_REQUIRED``), per-token base lists and scopes (403
  ``INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND``, which also answers unknown bases and tables).
* Per base: more than ``rate`` requests inside any ``per``-second window answers 429 (optionally
  blocking the base for ``penalty`` seconds after, as Airtable does for 30 s).

Each table may have a computed "Last modified time" field that every write sets. Every request is
logged with its time (``log``), and answers can be forced (``force``, ``force_429``).

    fake = AirtableFake()
    fake.add_token("patTEST")
    base = fake.add_base()
    fake.add_table(base, "Contacts", ["Name", "Email"])
    fake.add_records(base, "Contacts", [{"Name": "Ada"}])
    fake.install(respx_mock)
"""

from __future__ import annotations

import json
import re
import secrets
import string
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
import respx

ALL_SCOPES = frozenset({"data.records:read", "data.records:write", "schema.bases:read"})
_ALNUM = string.ascii_letters + string.digits
_IS_AFTER = re.compile(r"^\s*IS_AFTER\(\s*\{([^{}]+)\}\s*,\s*'([^']*)'\s*\)\s*$")
_EQUALS = re.compile(r"^\s*\{([^{}]+)\}\s*=\s*'([^'\\]*)'\s*$")
_RATE_LIMIT_BODY = {
    "errors": [
        {
            "error": "RATE_LIMIT_REACHED",
            "message": "Rate limit exceeded. Please try again later",
        }
    ]
}
_MODEL_NOT_FOUND = (
    "Invalid permissions, or the requested model was not found. Check that both your user and "
    "your token have the required permissions, and that the model names and/or ids are correct."
)


def new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(14))


def airtable_time(value: datetime) -> str:
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class _Answer(Exception):
    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, dict(headers or {})


def _error(status: int, kind: str, message: str | None = None) -> _Answer:
    if message is None:
        return _Answer(status, {"error": kind})
    return _Answer(status, {"error": {"type": kind, "message": message}})


@dataclass
class FakeField:
    id: str
    name: str
    type: str = "singleLineText"

    @property
    def computed(self) -> bool:
        return self.type in ("lastModifiedTime", "createdTime", "formula")


@dataclass
class FakeRecord:
    id: str
    created_time: str
    cells: dict[str, Any]  # by field id


@dataclass
class FakeTable:
    id: str
    name: str
    fields: list[FakeField]
    records: dict[str, FakeRecord] = field(default_factory=dict)  # insertion order = view order
    modified_field: FakeField | None = None

    def field_named(self, name: str) -> FakeField | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass
class FakeToken:
    bases: frozenset[str] | None  # None: every base
    scopes: frozenset[str]


@dataclass
class LoggedRequest:
    at: float  # the fake's clock (time.monotonic by default) when the request arrived
    method: str
    path: str  # decoded, without the query
    params: list[tuple[str, str]]
    body: Any
    base_id: str | None
    status: int = 0


@dataclass
class _Forced:
    status: int
    body: Any
    headers: dict[str, str]
    remaining: int | None  # None: forever


class AirtableFake:
    def __init__(
        self,
        base_url: str = "https://api.airtable.com",
        *,
        rate: int = 5,
        per: float = 1.0,
        penalty: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.rate, self.per, self.penalty = rate, per, penalty
        self.clock, self.now = clock, now
        self.bases: dict[str, dict[str, FakeTable]] = {}  # base id -> table id -> table
        self.tokens: dict[str, FakeToken] = {}
        self.log: list[LoggedRequest] = []
        self._accepted: dict[str, list[float]] = {}  # base id -> arrival times of served requests
        self._blocked_until: dict[str, float] = {}
        self._forced: list[_Forced] = []
        self._iterators: dict[str, list[str]] = {}
        self._lock = threading.RLock()

    # -- set-up -----------------------------------------------------------------------------------

    def add_token(
        self,
        token: str | None = None,
        *,
        bases: Iterable[str] | None = None,
        scopes: Iterable[str] = ALL_SCOPES,
    ) -> str:
        token = token or "pat" + new_id("")[:14] + "." + secrets.token_hex(32)
        self.tokens[token] = FakeToken(
            frozenset(bases) if bases is not None else None, frozenset(scopes)
        )
        return token

    def add_base(self, base_id: str | None = None) -> str:
        base_id = base_id or new_id("app")
        self.bases.setdefault(base_id, {})
        return base_id

    def add_table(
        self,
        base_id: str,
        name: str,
        fields: Sequence[str] | Mapping[str, str],
        *,
        modified_field: str | None = "Last modified",
        table_id: str | None = None,
    ) -> FakeTable:
        """`fields`: names (single line text) or {name: Airtable field type}."""
        kinds = (
            dict(fields) if isinstance(fields, Mapping) else dict.fromkeys(fields, "singleLineText")
        )
        table = FakeTable(
            id=table_id or new_id("tbl"),
            name=name,
            fields=[FakeField(new_id("fld"), n, t) for n, t in kinds.items()],
        )
        if modified_field:
            table.modified_field = FakeField(new_id("fld"), modified_field, "lastModifiedTime")
            table.fields.append(table.modified_field)
        self.bases[self.add_base(base_id)][table.id] = table
        return table

    def table(self, base_id: str, table: str) -> FakeTable:
        found = self._find_table(base_id, table)
        if found is None:
            raise KeyError(f"{base_id}/{table}")
        return found

    def add_records(self, base_id: str, table: str, rows: Iterable[Mapping[str, Any]]) -> list[str]:
        """Records as a person would type them into Airtable; returns their ids."""
        with self._lock:
            target = self.table(base_id, table)
            return [self._create(target, dict(row)).id for row in rows]

    def edit(self, base_id: str, table: str, record_id: str, **cells: Any) -> None:
        """A person edits a record in Airtable (its modified time moves)."""
        with self._lock:
            target = self.table(base_id, table)
            self._update(target, target.records[record_id], cells)

    def records(self, base_id: str, table: str) -> list[dict[str, Any]]:
        """The table's records as the API shows them (names as keys, empty cells left out)."""
        target = self.table(base_id, table)
        return [self._shape(target, r, by_id=False) for r in target.records.values()]

    def expire_iterators(self) -> None:
        """Forget every listing in progress (Airtable does after a while)."""
        self._iterators.clear()

    def force(
        self,
        status: int,
        body: Any = None,
        *,
        times: int | None = 1,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """The next `times` requests (None: all of them) answer this, whatever they ask."""
        self._forced.append(_Forced(status, body, dict(headers or {}), times))

    def force_429(self, times: int | None = 1, *, retry_after: str | None = None) -> None:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.force(429, _RATE_LIMIT_BODY, times=times, headers=headers)

    def clear_forced(self) -> None:
        self._forced.clear()

    def max_in_window(self, base_id: str | None = None, *, window: float | None = None) -> int:
        """The most requests served (not answered 429) for a base within any `window` seconds
        (default: the fake's `per`)."""
        window = self.per if window is None else window
        times = sorted(
            e.at
            for e in self.log
            if e.status != 429 and e.base_id and (base_id is None or e.base_id == base_id)
        )
        best, start = 0, 0
        for end, at in enumerate(times):
            while at - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    def requests(self, method: str | None = None, status: int | None = None) -> list[LoggedRequest]:
        return [
            e
            for e in self.log
            if (method is None or e.method == method) and (status is None or e.status == status)
        ]

    def install(self, router: respx.Router) -> respx.Route:
        return router.route(url__startswith=f"{self.base_url}/v0/").mock(side_effect=self.handle)

    # -- the wire ---------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        raw_path = request.url.raw_path.decode().split("?", 1)[0]
        segments = [unquote(s) for s in raw_path.split("/") if s]
        params = parse_qsl(request.url.query.decode(), keep_blank_values=True)
        try:
            body = json.loads(request.content) if request.content else None
        except ValueError:
            body = "<not json>"
        with self._lock:
            entry = LoggedRequest(
                at=self.clock(),
                method=request.method,
                path="/" + "/".join(segments),
                params=params,
                body=body,
                base_id=self._base_of(segments),
            )
            self.log.append(entry)
            try:
                status, answer, headers = (
                    200,
                    self._serve(request, segments, params, body, entry),
                    {},
                )
            except _Answer as exc:
                status, answer, headers = exc.status, exc.body, exc.headers
            entry.status = status
        return httpx.Response(status, json=answer, headers=headers)

    @staticmethod
    def _base_of(segments: list[str]) -> str | None:
        if segments[:3] == ["v0", "meta", "bases"] and len(segments) > 3:
            return segments[3]
        if len(segments) >= 2 and segments[0] == "v0" and segments[1] != "meta":
            return segments[1]
        return None

    def _serve(
        self,
        request: httpx.Request,
        segments: list[str],
        params: list[tuple[str, str]],
        body: Any,
        entry: LoggedRequest,
    ) -> Any:
        for forced in self._forced:
            if forced.remaining is None or forced.remaining > 0:
                if forced.remaining is not None:
                    forced.remaining -= 1
                raise _Answer(forced.status, forced.body, forced.headers)
        token = self._token(request)
        base_id = entry.base_id
        if base_id is None:
            raise _error(404, "NOT_FOUND")
        self._limit(base_id, entry.at)
        if segments[1] == "meta":
            if len(segments) != 5 or segments[4] != "tables" or request.method != "GET":
                raise _error(404, "NOT_FOUND")
            self._allow(token, base_id, "schema.bases:read")
            return {"tables": [self._describe(t) for t in self.bases[base_id].values()]}
        if len(segments) not in (3, 4):
            raise _error(404, "NOT_FOUND")
        write = request.method != "GET"
        self._allow(token, base_id, "data.records:write" if write else "data.records:read")
        table = self._find_table(base_id, segments[2])
        if table is None:
            raise _error(403, "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND", _MODEL_NOT_FOUND)
        record_id = segments[3] if len(segments) == 4 else None
        if request.method == "GET" and record_id is None:
            return self._list(table, params)
        if request.method == "POST" and record_id is None:
            return self._write(table, body, create=True)
        if request.method == "PATCH" and record_id is None:
            return self._write(table, body, create=False)
        if request.method == "DELETE":
            ids = [record_id] if record_id else [v for k, v in params if k == "records[]"]
            return self._delete(table, ids, single=record_id is not None)
        raise _error(404, "NOT_FOUND")

    def _token(self, request: httpx.Request) -> FakeToken:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        token = self.tokens.get(value.strip()) if scheme == "Bearer" else None
        if token is None:
            raise _error(401, "AUTHENTICATION_REQUIRED", "Authentication required")
        return token

    def _allow(self, token: FakeToken, base_id: str, scope: str) -> None:
        known = base_id in self.bases and (token.bases is None or base_id in token.bases)
        if not known or scope not in token.scopes:
            raise _error(403, "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND", _MODEL_NOT_FOUND)

    def _limit(self, base_id: str, at: float) -> None:
        if at < self._blocked_until.get(base_id, float("-inf")):
            raise _Answer(429, _RATE_LIMIT_BODY)
        served = [t for t in self._accepted.get(base_id, []) if at - t < self.per]
        if len(served) >= self.rate:
            if self.penalty:
                self._blocked_until[base_id] = at + self.penalty
            raise _Answer(429, _RATE_LIMIT_BODY)
        served.append(at)
        self._accepted[base_id] = served

    def _find_table(self, base_id: str, name_or_id: str) -> FakeTable | None:
        tables = self.bases.get(base_id, {})
        return tables.get(name_or_id) or next(
            (t for t in tables.values() if t.name == name_or_id), None
        )

    @staticmethod
    def _describe(table: FakeTable) -> dict[str, Any]:
        return {
            "id": table.id,
            "name": table.name,
            "primaryFieldId": table.fields[0].id if table.fields else None,
            "fields": [{"id": f.id, "name": f.name, "type": f.type} for f in table.fields],
            "views": [{"id": "viwGridView0000001", "name": "Grid view", "type": "grid"}],
        }

    # -- records ----------------------------------------------------------------------------------

    def _shape(self, table: FakeTable, record: FakeRecord, *, by_id: bool) -> dict[str, Any]:
        names = {f.id: f.name for f in table.fields}
        cells = {
            (fid if by_id else names[fid]): value
            for fid, value in record.cells.items()
            if value not in (None, "", [], False)
        }
        return {"id": record.id, "createdTime": record.created_time, "fields": cells}

    def _stamp(self, table: FakeTable, record: FakeRecord) -> None:
        if table.modified_field is not None:
            record.cells[table.modified_field.id] = airtable_time(self.now())

    def _cells(self, table: FakeTable, values: Mapping[str, Any]) -> dict[str, Any]:
        cells: dict[str, Any] = {}
        for name, value in values.items():
            found = table.field_named(name) or next((f for f in table.fields if f.id == name), None)
            if found is None:
                raise _error(422, "UNKNOWN_FIELD_NAME", f'Unknown field name: "{name}"')
            if found.computed:
                raise _error(
                    422,
                    "INVALID_VALUE_FOR_COLUMN",
                    f'Field "{name}" cannot accept a value because the field is computed',
                )
            cells[found.id] = value
        return cells

    def _create(self, table: FakeTable, values: Mapping[str, Any]) -> FakeRecord:
        record = FakeRecord(new_id("rec"), airtable_time(self.now()), self._cells(table, values))
        self._stamp(table, record)
        table.records[record.id] = record
        return record

    def _update(self, table: FakeTable, record: FakeRecord, values: Mapping[str, Any]) -> None:
        record.cells.update(self._cells(table, values))
        self._stamp(table, record)

    def _list(self, table: FakeTable, params: list[tuple[str, str]]) -> dict[str, Any]:
        query = dict(params)
        try:
            size = int(query.get("pageSize", "100"))
        except ValueError:
            size = 0
        if not 1 <= size <= 100:
            raise _error(422, "INVALID_REQUEST_UNKNOWN", "Invalid request: pageSize")
        by_id = query.get("returnFieldsByFieldId", "false").lower() in ("true", "1")
        wanted = [v for k, v in params if k == "fields[]"]
        for name in wanted:
            if table.field_named(name) is None and all(f.id != name for f in table.fields):
                raise _error(422, "UNKNOWN_FIELD_NAME", f'Unknown field name: "{name}"')
        offset = query.get("offset")
        if offset:
            iterator, _, next_id = offset.partition("/")
            ids = self._iterators.get(iterator)
            if ids is None or next_id not in ids:
                raise _error(
                    422,
                    "LIST_RECORDS_ITERATOR_NOT_AVAILABLE",
                    "The list records iterator is not available, start over.",
                )
            position = ids.index(next_id)
        else:
            keep = self._filter(table, query.get("filterByFormula"))
            ids = [r.id for r in table.records.values() if keep(r)]
            iterator = new_id("itr")
            self._iterators[iterator] = ids
            position = 0
        page_ids = ids[position : position + size]
        answer: dict[str, Any] = {"records": []}
        for record_id in page_ids:
            record = table.records.get(record_id)
            if record is None:
                continue  # deleted since the listing started
            shaped = self._shape(table, record, by_id=by_id)
            if wanted:
                keys = {
                    (f.id if by_id else f.name)
                    for f in table.fields
                    if f.name in wanted or f.id in wanted
                }
                shaped["fields"] = {k: v for k, v in shaped["fields"].items() if k in keys}
            answer["records"].append(shaped)
        if position + size < len(ids):
            answer["offset"] = f"{iterator}/{ids[position + size]}"
        return answer

    def _filter(self, table: FakeTable, formula: str | None) -> Callable[[FakeRecord], bool]:
        if not formula:
            return lambda _record: True
        after, equals = _IS_AFTER.match(formula), _EQUALS.match(formula)
        match = after or equals
        if match is None:
            raise _error(
                422, "INVALID_FILTER_BY_FORMULA", "The formula for filtering records is invalid"
            )
        target = table.field_named(match.group(1))
        if target is None:
            raise _error(
                422,
                "INVALID_FILTER_BY_FORMULA",
                f"The formula for filtering records is invalid: Unknown field names: "
                f"{match.group(1)}",
            )
        if after is not None:
            since = _parse_time(match.group(2))
            if since is None:
                raise _error(422, "INVALID_FILTER_BY_FORMULA", "Invalid date in IS_AFTER")

            def is_after(record: FakeRecord) -> bool:
                value = _parse_time(record.cells.get(target.id))
                return value is not None and since is not None and value > since

            return is_after
        text = match.group(2)
        return lambda record: str(record.cells.get(target.id) or "") == text

    def _write(self, table: FakeTable, body: Any, *, create: bool) -> dict[str, Any]:
        rows = body.get("records") if isinstance(body, dict) else None
        if not isinstance(rows, list) or not rows or len(rows) > 10:
            raise _error(
                422,
                "INVALID_RECORDS",
                "The request must contain between 1 and 10 records",
            )
        targets: list[FakeRecord | None] = []
        for row in rows:
            if not isinstance(row, dict) or not isinstance(row.get("fields"), dict):
                raise _error(422, "INVALID_RECORDS", "Each record must have fields")
            if create:
                targets.append(None)
                continue
            record = table.records.get(str(row.get("id")))
            if record is None:
                raise _error(404, "NOT_FOUND")
            targets.append(record)
        for row in rows:
            self._cells(table, row["fields"])  # refuse the whole request before writing any
        written = []
        for row, record in zip(rows, targets, strict=True):
            if record is None:
                record = self._create(table, row["fields"])
            else:
                self._update(table, record, row["fields"])
            written.append(self._shape(table, record, by_id=False))
        return {"records": written}

    def _delete(self, table: FakeTable, ids: list[str], *, single: bool) -> dict[str, Any]:
        if not ids or len(ids) > 10:
            raise _error(422, "INVALID_RECORDS", "The request must name between 1 and 10 records")
        if any(i not in table.records for i in ids):
            raise _error(404, "NOT_FOUND")
        for record_id in ids:
            del table.records[record_id]
        if single:
            return {"id": ids[0], "deleted": True}
        return {"records": [{"id": i, "deleted": True} for i in ids]}
