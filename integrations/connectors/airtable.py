"""The Airtable connector: one table of one base, over Airtable's Web API (v0) with a personal
access token.

Wire facts it relies on (https://airtable.com/developers/web/api/introduction):

* ``GET /v0/{baseId}/{tableIdOrName}`` lists records ``{"records": [{"id", "createdTime",
  "fields"}], "offset"?}``, at most 100 a page (``pageSize``); the next page is asked for with
  the same query plus ``offset``. Empty fields are left out of ``fields``.
* ``POST`` (create) and ``PATCH`` (update) on the same URL take ``{"records": [...],
  "typecast": true}``, at most 10 records a request, and answer the records in request order;
  ``DELETE`` takes ``?records[]=rec…`` (at most 10) and answers ``{"records": [{"id",
  "deleted"}]}``.
* ``GET /v0/meta/bases/{baseId}/tables`` (scope ``schema.bases:read``) describes the tables.
* 5 requests per second per base (and 50 per second per token across bases); past it Airtable
  answers 429 and asks for a 30 second pause. Every request here first takes a turn from the
  Redis limiter shared by all our processes (``ratelimit.py``), so 429s should not happen.
* Errors: ``{"error": {"type", "message"}}`` or ``{"error": "NOT_FOUND"}``; a token that is
  valid but not granted the base, or a base or table that does not exist, both answer 403
  ``INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND`` (Airtable will not say which).

Incremental changes need a "Last modified time" field (config ``modified_field``): a pass lists
the records with ``IS_AFTER({field}, '<since>')``, and the cursor (JSON) carries ``since`` = the
latest modification seen. The filter looks back a few seconds before ``since`` (a write in
flight when we read may carry an earlier time than a record we already saw) and the cursor keeps
the (record, time) pairs of that lookback, so a record is delivered again only when it changed
again. Without ``modified_field`` every run lists every record; the cursor then only carries the
page offset within a run.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
import redis
from django.conf import settings as django_settings

from saas_platform.kernel.logging import get_logger

from . import ssrf
from .base import (
    ChangePage,
    Connector,
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorError,
    ConnectorSettings,
    ConnectorUnavailable,
    ExternalRecord,
    OutboundRecord,
    Value,
    register,
)
from .ratelimit import RateLimiter, RateLimitTimeout, Slot, get_limiter

log = get_logger(__name__)

BASE_ID_RE = re.compile(r"^app[A-Za-z0-9]{14}$")
TABLE_ID_RE = re.compile(r"^tbl[A-Za-z0-9]{14}$")
PAGE_SIZE = 100  # Airtable's maximum
WRITE_BATCH = 10  # Airtable's maximum records per create / update / delete request
DATE_FIELD_TYPES = {"lastModifiedTime", "dateTime", "createdTime", "formula"}
_UNKNOWN_FIELD_RE = re.compile(r'[Uu]nknown field name:?\s*"([^"]+)"')
_LOOKBACK_KEEP = 1000  # at most this many (record, time) pairs ride in the cursor


class _IteratorExpired(Exception):
    """Airtable forgot the listing behind an `offset` (LIST_RECORDS_ITERATOR_NOT_AVAILABLE)."""


@dataclass
class _Cursor:
    since: str | None = None  # the filter of the current pass (incremental mode)
    offset: str | None = None  # Airtable's page offset within the current pass
    max: str | None = None  # the latest modification seen so far
    # record id -> modified time, within the lookback of `max`: `seen` as of the end of the
    # previous pass, `recent` in the current one.
    seen: dict[str, str] = field(default_factory=dict)
    recent: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, raw: str | None) -> _Cursor:
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
            return cls(
                since=data.get("since"),
                offset=data.get("offset"),
                max=data.get("max"),
                seen={str(k): str(v) for k, v in (data.get("seen") or {}).items()},
                recent={str(k): str(v) for k, v in (data.get("recent") or {}).items()},
            )
        except (ValueError, AttributeError, TypeError):
            raise ConnectorConfigError(
                "The stored Airtable sync position is unreadable; reset the connection's sync "
                "to start again from the beginning."
            ) from None

    def dump(self) -> str:
        data: dict[str, Any] = {"v": 1}
        for name in ("since", "offset", "max", "seen", "recent"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        return json.dumps(data, separators=(",", ":"), sort_keys=True)


def parse_time(value: Any) -> datetime | None:
    """Airtable's ISO 8601 times ("2024-05-01T10:00:00.000Z") as aware datetimes."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(value: datetime) -> str:
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def to_value(raw: Any) -> Value:
    """An Airtable cell as one plain value: lists (multiple selects, links, attachments) joined
    with ", ", objects (collaborators, attachments, AI text, buttons) by their telling part."""
    if raw is None or isinstance(raw, str | bool | int | float):
        return raw
    if isinstance(raw, list):
        parts = [to_value(item) for item in raw]
        return ", ".join(str(p) for p in parts if p not in (None, ""))
    if isinstance(raw, dict):
        for name in ("value", "email", "name", "text", "url", "label", "id"):
            if isinstance(raw.get(name), str | int | float):
                return raw[name]  # type: ignore[no-any-return]
        if "specialValue" in raw:
            return None
        return json.dumps(raw, sort_keys=True)
    return str(raw)


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


@register("airtable", "Airtable")
class AirtableConnector(Connector):
    """config: base_id ("app…"), table (name or "tbl…" id), modified_field (optional "Last
    modified time" field); credentials: token (a personal access token, "pat…")."""

    batch_size: ClassVar[int] = 100
    # Airtable's limits, per base and per token.
    rate: ClassVar[int] = 5
    per: ClassVar[float] = 1.0
    token_rate: ClassVar[int] = 50
    # How long one request may wait for its turn before the run gives up (retryable).
    turn_timeout: ClassVar[float] = 120.0
    # 429: Airtable asks for 30 s; tries in all before ConnectorUnavailable.
    rate_limit_wait: ClassVar[float] = 30.0
    rate_limit_attempts: ClassVar[int] = 4
    # 5xx and network failures: tries in all, and the first backoff (doubled each time, jittered).
    error_attempts: ClassVar[int] = 4
    error_backoff: ClassVar[float] = 1.0
    # The incremental filter looks back this far behind the cursor time.
    lookback: ClassVar[timedelta] = timedelta(seconds=5)

    def __init__(
        self,
        settings: ConnectorSettings,
        *,
        http: httpx.Client | None = None,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__(settings)
        config, credentials = settings.config, settings.credentials
        self.validate(config, credentials)
        self.base_id: str = config["base_id"].strip()
        self.table: str = config["table"].strip()
        self.modified_field: str | None = (config.get("modified_field") or "").strip() or None
        self._token: str = credentials["token"].strip()
        api = getattr(django_settings, "AIRTABLE_API_BASE", "https://api.airtable.com")
        self._api = str(api).rstrip("/")
        self._owns_http = http is None
        self._http = http if http is not None else self._default_http()
        self._limiter = limiter
        self._sleep: Callable[[float], None] = sleep or time.sleep
        self._random = random.Random()  # noqa: S311 — backoff jitter, not a secret
        token_hash = hashlib.sha256(self._token.encode()).hexdigest()[:16]
        self._base_key = f"airtable:base:{self.base_id}"
        self._token_key = f"airtable:token:{token_hash}"

    # -- settings ---------------------------------------------------------------------------------

    @classmethod
    def validate(cls, config: Mapping[str, Any], credentials: Mapping[str, Any]) -> None:
        base_id = config.get("base_id")
        if not isinstance(base_id, str) or not base_id.strip():
            raise ConnectorConfigError(
                'Enter the Airtable base id: it starts with "app" and is in the base\'s URL '
                "(airtable.com/appXXXXXXXXXXXXXX/…)."
            )
        if not BASE_ID_RE.match(base_id.strip()):
            raise ConnectorConfigError(
                f'{base_id.strip()!r} is not an Airtable base id: a base id is "app" followed '
                "by 14 letters and digits, as in the base's URL (airtable.com/appXXXXXXXXXXXXXX/…)."
            )
        table = config.get("table")
        if not isinstance(table, str) or not table.strip():
            raise ConnectorConfigError(
                'Enter the Airtable table: its name as shown on the tab, or its id ("tbl…").'
            )
        modified = config.get("modified_field")
        if modified is not None and not isinstance(modified, str):
            raise ConnectorConfigError("The modified-time field must be a field name.")
        if modified and ("{" in modified or "}" in modified):
            raise ConnectorConfigError(
                "The modified-time field's name may not contain curly braces; rename the field "
                "in Airtable."
            )
        token = credentials.get("token")
        if not isinstance(token, str) or not token.strip():
            raise ConnectorConfigError(
                "Enter an Airtable personal access token (create one at "
                "airtable.com/create/tokens)."
            )
        token = token.strip()
        if re.fullmatch(r"key[A-Za-z0-9]{14}", token):
            raise ConnectorConfigError(
                "That is a retired Airtable API key; Airtable now only accepts personal access "
                'tokens ("pat…", created at airtable.com/create/tokens).'
            )
        if any(ch.isspace() for ch in token):
            raise ConnectorConfigError(
                "The Airtable token contains spaces or line breaks; paste it again as one piece."
            )

    # -- the interface ----------------------------------------------------------------------------

    def check(self) -> None:
        self._request("GET", self._table_path(), params=[("pageSize", "1")])
        wanted = self._wanted_fields()
        if not wanted:
            return
        schema = self._table_schema()
        if schema is not None:
            names = {f.get("name"): f for f in schema.get("fields", []) if isinstance(f, dict)}
            for name in wanted:
                if name not in names:
                    raise ConnectorConfigError(
                        f"The Airtable table {self.table!r} has no field {name!r}. Check the field "
                        "mapping against the table's field names (they are case-sensitive)."
                    )
            if self.modified_field:
                kind = names[self.modified_field].get("type")
                if kind not in DATE_FIELD_TYPES:
                    raise ConnectorConfigError(
                        f"The field {self.modified_field!r} is a {kind} field; the modified-time "
                        'field must be a "Last modified time" field.'
                    )
            return
        # No schema access (the token lacks schema.bases:read): asking for the fields by name
        # makes Airtable refuse an unknown one (422 UNKNOWN_FIELD_NAME), which _error names.
        params = [("pageSize", "1")] + [("fields[]", name) for name in wanted]
        self._request("GET", self._table_path(), params=params)

    def changes(self, cursor: str | None, *, limit: int = 500) -> ChangePage:
        state = _Cursor.load(cursor)
        page_size = max(1, min(PAGE_SIZE, limit))
        records: list[ExternalRecord] = []
        delivered: set[str] = set()  # a restarted pass lists records of this page again
        restarted = False
        while True:
            params = self._list_params(page_size, state)
            try:
                body = self._request("GET", self._table_path(), params=params)
            except _IteratorExpired:
                if restarted:
                    raise ConnectorUnavailable(
                        "Airtable keeps losing its place in the record listing; try again later."
                    ) from None
                # Start the pass again from its beginning (same `since`); records already
                # delivered may come again, which the engine tolerates.
                restarted, state.offset = True, None
                continue
            for raw in body.get("records") or []:
                record = self._record(raw, state)
                if record is not None and record.key not in delivered:
                    delivered.add(record.key)
                    records.append(record)
            state.offset = body.get("offset") or None
            if not state.offset or len(records) + page_size > limit:
                break
        if state.offset:
            state.recent = self._within_lookback(state.recent, state.max)
            return ChangePage(records=records, cursor=state.dump(), more=True)
        if not self.modified_field:
            return ChangePage(records=records, cursor=None, more=False)
        # The pass is over: the next one filters from the latest time seen.
        state.since = state.max or state.since
        state.seen = self._within_lookback({**state.seen, **state.recent}, state.max)
        state.recent = {}
        return ChangePage(records=records, cursor=state.dump(), more=False)

    def upsert(self, records: Sequence[OutboundRecord]) -> list[str]:
        keys: list[str | None] = [r.key for r in records]
        updates = [(i, r) for i, r in enumerate(records) if r.key]
        creates = [(i, r) for i, r in enumerate(records) if not r.key]
        for batch in _chunks(updates, WRITE_BATCH):
            payload = {
                "records": [{"id": r.key, "fields": dict(r.fields)} for _, r in batch],
                "typecast": True,
            }
            try:
                self._request("PATCH", self._table_path(), json=payload, names_records=True)
            except _NotFound as exc:
                raise ConnectorError(exc.message) from None
        for batch in _chunks(creates, WRITE_BATCH):
            payload = {"records": [{"fields": dict(r.fields)} for _, r in batch], "typecast": True}
            body = self._request("POST", self._table_path(), json=payload, idempotent=False)
            created = body.get("records") or []
            if len(created) != len(batch):
                raise ConnectorError(
                    f"Airtable answered {len(created)} records for {len(batch)} created."
                )
            for (index, _), answer in zip(batch, created, strict=True):
                keys[index] = str(answer["id"])
        return [k for k in keys if k]

    def delete(self, keys: Sequence[str]) -> None:
        for batch in _chunks(list(dict.fromkeys(keys)), WRITE_BATCH):
            params = [("records[]", key) for key in batch]
            try:
                self._request("DELETE", self._table_path(), params=params, names_records=True)
            except _NotFound:
                # One of them is gone already: delete one by one, skipping those.
                for key in batch:
                    try:
                        path = f"{self._table_path()}/{quote(key, safe='')}"
                        self._request("DELETE", path, names_records=True)
                    except _NotFound:
                        continue

    def find(self, field_name: str, value: Value) -> list[ExternalRecord]:
        """Records whose `field_name` equals `value`, asked of Airtable with a formula (the
        answer is filtered again here, exactly)."""
        awkward = "'" in str(value) or "\\" in str(value) or "{" in field_name or "}" in field_name
        if not isinstance(value, str) or awkward:
            return super().find(field_name, value)
        formula = f"{{{field_name}}} = '{value}'"
        found: list[ExternalRecord] = []
        offset: str | None = None
        while True:
            params = [("pageSize", str(PAGE_SIZE)), ("returnFieldsByFieldId", "false")]
            params.append(("filterByFormula", formula))
            params += [("fields[]", name) for name in self._wanted_fields(field_name)]
            if offset:
                params.append(("offset", offset))
            body = self._request("GET", self._table_path(), params=params)
            for raw in body.get("records") or []:
                record = self._record(raw, None, extra=(field_name,))
                if record is not None and record.fields.get(field_name) == value:
                    found.append(record)
            offset = body.get("offset")
            if not offset:
                return found

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    # -- listing ----------------------------------------------------------------------------------

    def _wanted_fields(self, *extra: str) -> list[str]:
        names = list(dict.fromkeys([*self.settings.fields, *extra]))
        if self.modified_field and self.modified_field not in names:
            names.append(self.modified_field)
        return names

    def _list_params(self, page_size: int, state: _Cursor) -> list[tuple[str, str]]:
        params = [("pageSize", str(page_size)), ("returnFieldsByFieldId", "false")]
        params += [("fields[]", name) for name in self._wanted_fields()]
        since = parse_time(state.since) if self.modified_field else None
        if since is not None:
            after = format_time(since - self.lookback)
            params.append(("filterByFormula", f"IS_AFTER({{{self.modified_field}}}, '{after}')"))
        if state.offset:
            params.append(("offset", state.offset))
        return params

    def _record(
        self, raw: Mapping[str, Any], state: _Cursor | None, extra: tuple[str, ...] = ()
    ) -> ExternalRecord | None:
        key = str(raw.get("id") or "")
        if not key:
            return None
        cells = raw.get("fields") or {}
        values = {name: to_value(cells.get(name)) for name in [*self.settings.fields, *extra]}
        modified_raw = cells.get(self.modified_field) if self.modified_field else None
        modified = parse_time(modified_raw)
        if state is not None and modified is not None:
            stamp = str(modified_raw)
            if stamp in (state.seen.get(key), state.recent.get(key)):
                return None  # delivered already at this very modification
            state.recent[key] = stamp
            if state.max is None or modified > (parse_time(state.max) or modified):
                state.max = stamp
        return ExternalRecord(key=key, fields=values, modified_at=modified)

    def _within_lookback(self, stamps: dict[str, str], latest_raw: str | None) -> dict[str, str]:
        """The (record, time) pairs the next filter will list again, newest first kept."""
        latest = parse_time(latest_raw)
        if latest is None:
            return stamps
        horizon = latest - self.lookback
        timed = [(k, v, parse_time(v)) for k, v in stamps.items()]
        kept = sorted(
            ((k, v, t) for k, v, t in timed if t is not None and t > horizon),
            key=lambda kvt: kvt[2],
        )
        return {k: v for k, v, _ in kept[-_LOOKBACK_KEEP:]}

    def _table_schema(self) -> dict[str, Any] | None:
        """The table's schema from the metadata API, or None when the token may not read it."""
        try:
            body = self._request("GET", f"meta/bases/{self.base_id}/tables")
        except _NoSchemaAccess:
            return None
        for table in body.get("tables") or []:
            if self.table in (table.get("id"), table.get("name")):
                return table  # type: ignore[no-any-return]
        raise ConnectorConfigError(
            f"The Airtable base {self.base_id} has no table {self.table!r}. Use the table's name "
            'exactly as on its tab, or its id ("tbl…").'
        )

    # -- HTTP -------------------------------------------------------------------------------------

    @staticmethod
    def _default_http() -> httpx.Client:
        factory = getattr(ssrf, "guarded_http_client", None)
        if factory is not None:
            return factory()  # type: ignore[no-any-return]
        return httpx.Client(timeout=30)

    def _table_path(self) -> str:
        return f"{self.base_id}/{quote(self.table, safe='')}"

    def _take_turn(self) -> list[Slot]:
        limiter = self._limiter or get_limiter()
        try:
            base = limiter.acquire(self._base_key, self.rate, self.per, self.turn_timeout)
            token = limiter.acquire(self._token_key, self.token_rate, self.per, self.turn_timeout)
        except RateLimitTimeout:
            raise ConnectorUnavailable(
                "Airtable's rate limit for this base is taken by other syncs; try again later."
            ) from None
        except redis.RedisError as exc:
            raise ConnectorUnavailable(
                f"The rate limiter is unavailable ({type(exc).__name__}); try again later."
            ) from None
        return [base, token]

    def _give_back(self, slots: list[Slot]) -> None:
        limiter = self._limiter or get_limiter()
        for slot in slots:
            try:
                limiter.done(slot, self.per)
            except redis.RedisError:
                log.warning("connectors.airtable.limiter_done_failed", base_id=self.base_id)

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: list[tuple[str, str]] | None = None,
        json: Any = None,
        idempotent: bool = True,
        names_records: bool = False,
    ) -> dict[str, Any]:
        url = f"{self._api}/v0/{path}"
        headers = {"Authorization": f"Bearer {self._token}"}
        query = httpx.QueryParams(tuple(params)) if params else None
        limited = errors = 0
        while True:
            slots = self._take_turn()
            try:
                response = self._http.request(method, url, params=query, json=json, headers=headers)
            except httpx.TransportError as exc:
                errors += 1
                unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if (idempotent or unsent) and errors < self.error_attempts:
                    self._backoff(errors)
                    continue
                raise ConnectorUnavailable(
                    f"Airtable could not be reached ({type(exc).__name__}); try again later."
                ) from None
            finally:
                self._give_back(slots)
            status = response.status_code
            if status == 429:
                limited += 1
                log.warning(
                    "connectors.airtable.rate_limited", base_id=self.base_id, attempt=limited
                )
                if limited >= self.rate_limit_attempts:
                    raise ConnectorUnavailable(
                        f'Airtable kept answering "too many requests" for base {self.base_id} '
                        f"after {limited} tries; the sync will try again later."
                    )
                self._sleep(self._retry_after(response))
                continue
            if status >= 500:
                errors += 1
                # A create that failed mid-way may have been applied: never send it twice.
                retry = idempotent or status in (502, 503)
                if retry and errors < self.error_attempts:
                    self._backoff(errors)
                    continue
                raise ConnectorUnavailable(
                    f"Airtable answered {status} {self._describe(response)}; try again later."
                )
            if status >= 400:
                raise self._error(response, path, names_records=names_records)
            try:
                body = response.json()
            except ValueError:
                raise ConnectorUnavailable(
                    "Airtable answered something that is not JSON."
                ) from None
            return body if isinstance(body, dict) else {}

    def _backoff(self, attempt: int) -> None:
        ceiling = self.error_backoff * 2 ** (attempt - 1)
        self._sleep(self._random.uniform(ceiling / 2, ceiling))

    def _retry_after(self, response: httpx.Response) -> float:
        raw = response.headers.get("Retry-After")
        if raw:
            try:
                return min(max(float(raw), 0.0), 300.0)
            except ValueError:
                pass
            try:
                when: datetime = email.utils.parsedate_to_datetime(raw)
                wait = (when - datetime.now(UTC)).total_seconds()
                return float(min(max(wait, 0.0), 300.0))
            except (TypeError, ValueError):
                pass
        return self.rate_limit_wait

    # -- errors -----------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "[token]") if self._token else text

    def _parts(self, response: httpx.Response) -> tuple[str, str]:
        """(type, message) of Airtable's error body, in any of its shapes."""
        try:
            body = response.json()
        except ValueError:
            return "", ""
        if not isinstance(body, dict):
            return "", ""
        error = body.get("error")
        if error is None and isinstance(body.get("errors"), list) and body["errors"]:
            error = body["errors"][0]
            if isinstance(error, dict) and "type" not in error:
                error = {"type": error.get("error"), "message": error.get("message")}
        if isinstance(error, str):
            return error, ""
        if isinstance(error, dict):
            return str(error.get("type") or ""), self._scrub(str(error.get("message") or ""))
        return "", ""

    def _describe(self, response: httpx.Response) -> str:
        kind, message = self._parts(response)
        text = " ".join(p for p in (kind, f"({message})" if message else "") if p)
        return text[:300]

    def _error(self, response: httpx.Response, path: str, *, names_records: bool) -> Exception:
        status, (kind, message) = response.status_code, self._parts(response)
        where = f"table {self.table!r} of base {self.base_id}"
        if status == 401:
            return ConnectorAuthError(
                "Airtable refused the token: check that it was pasted in full and has not been "
                "revoked or expired (airtable.com/create/tokens)."
            )
        if kind == "LIST_RECORDS_ITERATOR_NOT_AVAILABLE":
            return _IteratorExpired()
        if path.startswith("meta/") and status in (403, 404):
            return _NoSchemaAccess("The token may not read the base's schema.")
        if names_records and status == 404:
            return _NotFound(
                f"A record to change is no longer in the {where} (deleted there?): "
                f"{kind or 'NOT_FOUND'} {message}".strip()
            )
        if status == 403 and kind == "INVALID_PERMISSIONS":
            return ConnectorAuthError(
                f"The Airtable token may not do this on the {where}: give it the scopes "
                "data.records:read and data.records:write (and schema.bases:read to check "
                "fields), and an editor's access to the base."
            )
        if status in (403, 404):
            return ConnectorConfigError(
                f"Airtable found no {where} that this token may use. Check the base id and the "
                "table name or id, and that the token's access list includes the base "
                "(airtable.com/create/tokens)."
            )
        if kind == "UNKNOWN_FIELD_NAME":
            found = _UNKNOWN_FIELD_RE.search(message)
            name = found.group(1) if found else message
            return ConnectorConfigError(
                f"The Airtable table {self.table!r} has no field {name!r}. Check the field "
                "mapping against the table's field names (they are case-sensitive)."
            )
        if kind == "INVALID_FILTER_BY_FORMULA" and self.modified_field:
            return ConnectorConfigError(
                f"Airtable could not filter on the field {self.modified_field!r}: check that it "
                'exists and is a "Last modified time" field.'
            )
        detail = f"{kind}: {message}" if kind and message else kind or message or "no details"
        return ConnectorError(f"Airtable refused the request ({status} {detail})."[:500])


class _NotFound(ConnectorError):
    """A record named in the request does not exist (handled inside the connector)."""


class _NoSchemaAccess(ConnectorError):
    """The metadata API refused: the token lacks schema.bases:read (handled inside)."""
