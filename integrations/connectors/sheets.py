"""Google Sheets: one tab of a spreadsheet as a table of records, over the Sheets API v4.

The first row is the header and names the columns; a key column (default "Record ID") holds each
row's stable key, which the connector writes itself (a uuid4 hex) into rows that have none.

* Reads ask for `valueRenderOption=UNFORMATTED_VALUE` with `dateTimeRenderOption=FORMATTED_STRING`:
  numbers come back as numbers, checkboxes as booleans, text as strings and dates as the text the
  sheet shows. An empty cell reads as None.
* Writes use `valueInputOption=RAW`: values are stored as given, so a text starting with "=" stays
  text and never becomes a formula. Only the columns being written are touched (JSON null skips a
  cell, "" clears it, as the API documents).
* Sheets keeps no per-row modified time: every pass of `changes` reads every row, paging by row
  number (the cursor); the last page's cursor is None so the next run reads the sheet again.
* Credentials: a service account key (JWT bearer grant) or an OAuth client with a refresh token.
  The token endpoint is the `GOOGLE_OAUTH_TOKEN_URL` setting, never the key file's `token_uri`
  (a pasted key must not choose where our server sends requests).
* 429 and 5xx answers are retried with exponential backoff and full jitter (Retry-After honoured),
  at most `max_attempts` times. Appends and row deletions are not blindly retried after an
  ambiguous failure: the keys are read again and only what is missing is redone."""

from __future__ import annotations

import json
import random
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
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

log = get_logger(__name__)

SCOPE = "https://www.googleapis.com/auth/spreadsheets"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEFAULT_API_BASE = "https://sheets.googleapis.com"
DEFAULT_TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL)
DEFAULT_KEY_COLUMN = "Record ID"
_SPREADSHEET_ID = re.compile(r"[A-Za-z0-9_-]{20,200}")
_ID_IN_URL = re.compile(r"/spreadsheets/d/([A-Za-z0-9_-]+)")
_OAUTH_FIELDS = ("client_id", "client_secret", "refresh_token")
_READ = {
    "majorDimension": "ROWS",
    "valueRenderOption": "UNFORMATTED_VALUE",
    "dateTimeRenderOption": "FORMATTED_STRING",
}
_jitter = random.SystemRandom()


class _Uncertain(ConnectorUnavailable):
    """A write failed in a way that leaves unknown whether Google applied it."""


@dataclass(frozen=True)
class _Tab:
    sheet_id: int
    title: str
    row_count: int

    @property
    def ref(self) -> str:
        """The tab's name as A1 notation quotes it: 'Tab''s name'."""
        return "'" + self.title.replace("'", "''") + "'"

    def a1(self, first_col: int, first_row: int, last_col: int, last_row: int | None) -> str:
        """'Tab'!B2:D9 (columns 0-based, rows 1-based; last_row None runs to the end)."""
        end = f"{column_letter(last_col)}{'' if last_row is None else last_row}"
        return f"{self.ref}!{column_letter(first_col)}{first_row}:{end}"


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters, index = "", index + 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _service_account(credentials: Mapping[str, Any]) -> dict[str, Any] | None:
    raw = credentials.get("service_account")
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise ConnectorConfigError("The service account key is not valid JSON.") from None
    if not isinstance(raw, dict):
        raise ConnectorConfigError("The service account key must be the JSON key file's content.")
    return raw


def _cell(value: Any) -> Value:
    if value is None or value == "":
        return None
    return value if isinstance(value, str | bool | int | float) else str(value)


def _key_text(value: Any) -> str | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = "" if value is None else str(value).strip()
    return text or None


def _written(value: Value) -> Value:
    return "" if value is None else value  # "" clears the cell; null would leave it as it was


@register("google_sheets", "Google Sheets")
class SheetsConnector(Connector):
    max_attempts = 5
    backoff_base = 1.0  # seconds; attempt n waits up to base * 2**n (full jitter)
    backoff_cap = 32.0
    retry_after_cap = 120.0
    sleep = staticmethod(time.sleep)

    def __init__(self, settings: ConnectorSettings, *, http: httpx.Client | None = None) -> None:
        super().__init__(settings)
        config = settings.config
        self.spreadsheet_id: str = config["spreadsheet_id"]
        self.sheet_title: str | None = config.get("sheet") or None
        self.key_column: str = config.get("key_column") or DEFAULT_KEY_COLUMN
        self._account = _service_account(settings.credentials)
        self._owns_http = http is None
        self._http = http if http is not None else self._default_client()
        self._token: str | None = None
        self._token_expires = 0.0
        self._tab_cache: _Tab | None = None
        self._header_cache: list[str] | None = None
        self._seen: set[str] = set()

    @staticmethod
    def _default_client() -> httpx.Client:
        guarded = getattr(ssrf, "guarded_http_client", None)
        return guarded() if guarded is not None else httpx.Client(timeout=30)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    # -- validation ---------------------------------------------------------------------------

    @classmethod
    def validate(cls, config: Mapping[str, Any], credentials: Mapping[str, Any]) -> None:
        spreadsheet_id = config.get("spreadsheet_id")
        if not isinstance(spreadsheet_id, str) or not spreadsheet_id.strip():
            raise ConnectorConfigError("Enter the spreadsheet id.")
        if not _SPREADSHEET_ID.fullmatch(spreadsheet_id):
            found = _ID_IN_URL.search(spreadsheet_id)
            hint = f" (from that address it is {found.group(1)})" if found else ""
            raise ConnectorConfigError(
                "The spreadsheet id is the long code in the sheet's address between /d/ and "
                f"/edit{hint}."
            )
        for name in ("sheet", "key_column"):
            value = config.get(name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ConnectorConfigError(f"The {name.replace('_', ' ')} must be a name.")
        account = _service_account(credentials)
        if account is not None:
            cls._validate_account(account)
            return
        missing = [k for k in _OAUTH_FIELDS if not isinstance(credentials.get(k), str)]
        if missing or not all(credentials[k].strip() for k in _OAUTH_FIELDS):
            raise ConnectorConfigError(
                "Give either a service account key (JSON) or an OAuth client id, client secret "
                "and refresh token."
            )

    @staticmethod
    def _validate_account(account: Mapping[str, Any]) -> None:
        if account.get("type", "service_account") != "service_account":
            raise ConnectorConfigError(
                "That JSON is not a service account key: create a key for a service account "
                "(IAM → Service accounts → Keys → Add key → JSON)."
            )
        missing = [k for k in ("client_email", "private_key", "token_uri") if not account.get(k)]
        if missing:
            raise ConnectorConfigError(f"The service account key lacks {', '.join(missing)}.")
        try:
            key = serialization.load_pem_private_key(str(account["private_key"]).encode(), None)
        except (ValueError, TypeError):
            key = None
        if not isinstance(key, RSAPrivateKey):
            raise ConnectorConfigError("The service account key's private_key is not an RSA key.")

    # -- the interface ------------------------------------------------------------------------

    def check(self) -> None:
        self._access_token()
        self._tab(refresh=True)
        self._columns(refresh=True)

    def changes(self, cursor: str | None, *, limit: int = 500) -> ChangePage:
        start = int(cursor) if cursor and cursor.isdigit() and int(cursor) >= 2 else 2
        if cursor is None:
            self._seen = set()
        tab = self._tab(refresh=cursor is None)
        columns = self._columns(refresh=cursor is None)
        key_index = columns[self.key_column]
        width = len(self._header())
        end = min(start + max(limit, 1) - 1, tab.row_count)
        if start > end:
            return ChangePage(records=[], cursor=None, more=False)
        rows = self._values(tab.a1(0, start, width - 1, end))
        names = list(self.settings.fields) or [h for h in self._header() if h]
        records, new_keys = [], []
        for offset, row in enumerate(rows):
            cells = [_cell(v) for v in row[:width]]
            if all(v is None for v in cells):
                continue
            key = _key_text(row[key_index] if key_index < len(row) else None)
            if key is None or key in self._seen:  # no key yet, or a copied row
                key = uuid.uuid4().hex
                new_keys.append((start + offset, key))
            self._seen.add(key)
            fields = {n: cells[columns[n]] if columns[n] < len(cells) else None for n in names}
            if self.key_column in fields:
                fields[self.key_column] = key
            records.append(ExternalRecord(key=key, fields=fields))
        if new_keys:
            data = [
                {"range": tab.a1(key_index, row, key_index, row), "values": [[key]]}
                for row, key in new_keys
            ]
            self._api("POST", "/values:batchUpdate", body={"valueInputOption": "RAW", "data": data})
        more = end < tab.row_count
        return ChangePage(records=records, cursor=str(end + 1) if more else None, more=more)

    def upsert(self, records: Sequence[OutboundRecord]) -> list[str]:
        if not records:
            return []
        tab = self._tab()
        columns = self._columns(also=[n for r in records for n in r.fields])
        key_index = columns[self.key_column]
        rows_by_key = self._key_rows(tab, key_index)
        updates: list[dict[str, Any]] = []
        appends: list[tuple[str, list[Value]]] = []
        keys: list[str] = []
        for record in records:
            cells = {columns[n]: v for n, v in record.fields.items() if columns[n] != key_index}
            found = rows_by_key.get(record.key) if record.key else None
            if found:
                row = found[0]
                if cells:
                    first, last = min(cells), max(cells)
                    span = [
                        _written(cells[i]) if i in cells else None for i in range(first, last + 1)
                    ]
                    updates.append({"range": tab.a1(first, row, last, row), "values": [span]})
                keys.append(str(record.key))
                continue
            # New, or its row was removed from the sheet: (re)create it under its key.
            key = record.key or uuid.uuid4().hex
            cells[key_index] = key
            appends.append(
                (key, [_written(cells[i]) if i in cells else None for i in range(max(cells) + 1)])
            )
            keys.append(key)
        if updates:
            body = {"valueInputOption": "RAW", "data": updates}
            self._api("POST", "/values:batchUpdate", body=body)
        if appends:
            self._append(tab, key_index, appends)
        return keys

    def delete(self, keys: Sequence[str]) -> None:
        if not keys:
            return
        wanted = set(keys)
        for attempt in range(self.max_attempts):
            tab = self._tab(refresh=True)
            key_index = self._columns()[self.key_column]
            rows = sorted(
                (r for k, rs in self._key_rows(tab, key_index).items() if k in wanted for r in rs),
                reverse=True,  # bottom up, so each index still points at its row
            )
            if not rows:
                return
            requests = [
                {
                    "deleteDimension": {
                        "range": {
                            "sheetId": tab.sheet_id,
                            "dimension": "ROWS",
                            "startIndex": row - 1,
                            "endIndex": row,
                        }
                    }
                }
                for row in rows
            ]
            try:
                self._api("POST", ":batchUpdate", body={"requests": requests}, replay=False)
            except _Uncertain:
                self._pause(attempt, None)
                continue
            finally:
                self._tab_cache = None
            return
        raise ConnectorUnavailable(
            "Google Sheets did not confirm the deletion; it will be retried."
        )

    # -- sheet structure ----------------------------------------------------------------------

    def _tab(self, *, refresh: bool = False) -> _Tab:
        if self._tab_cache is not None and not refresh:
            return self._tab_cache
        body = self._api("GET", "", params={"fields": "sheets.properties"})
        tabs = [s.get("properties", {}) for s in body.get("sheets", [])]
        tabs.sort(key=lambda p: p.get("index", 0))
        if self.sheet_title is None:
            chosen = tabs[0] if tabs else None
        else:
            chosen = next((p for p in tabs if p.get("title") == self.sheet_title), None)
        if chosen is None:
            titles = ", ".join(repr(p.get("title")) for p in tabs)
            raise ConnectorConfigError(
                f"The spreadsheet has no tab named {self.sheet_title!r} (its tabs: {titles})."
            )
        grid = chosen.get("gridProperties", {})
        self._tab_cache = _Tab(
            sheet_id=int(chosen.get("sheetId", 0)),
            title=str(chosen.get("title", "")),
            row_count=int(grid.get("rowCount", 0)),
        )
        return self._tab_cache

    def _header(self, *, refresh: bool = False) -> list[str]:
        if self._header_cache is None or refresh:
            tab = self._tab()
            rows = self._values(f"{tab.ref}!1:1")
            self._header_cache = [str(v).strip() for v in rows[0]] if rows else []
        return self._header_cache

    def _columns(self, *, refresh: bool = False, also: Sequence[str] = ()) -> dict[str, int]:
        """Column index of each name, after proving the key column and mapped fields exist."""
        header = self._header(refresh=refresh)
        if not any(header):
            raise ConnectorConfigError(
                "The sheet has no header row: put the column names in its first row."
            )
        columns: dict[str, int] = {}
        for index, name in enumerate(header):
            if name and name in columns:
                raise ConnectorConfigError(f"The header row has the column {name!r} twice.")
            if name:
                columns[name] = index
        if self.key_column not in columns:
            raise ConnectorConfigError(
                f"The sheet has no {self.key_column!r} column: add it to the header row (the "
                "sync keeps each row's key there)."
            )
        for name in [*self.settings.fields, *also]:
            if name not in columns:
                raise ConnectorConfigError(
                    f"The sheet has no column named {name!r}: add it to the header row or "
                    "change the field mapping."
                )
        return columns

    def _key_rows(self, tab: _Tab, key_index: int) -> dict[str, list[int]]:
        if tab.row_count < 2:
            return {}
        found: dict[str, list[int]] = {}
        for offset, row in enumerate(self._values(tab.a1(key_index, 2, key_index, None))):
            key = _key_text(row[0] if row else None)
            if key is not None:
                found.setdefault(key, []).append(offset + 2)
        return found

    def _values(self, a1: str) -> list[list[Any]]:
        body = self._api("GET", f"/values/{quote(a1, safe='')}", params=_READ)
        return list(body.get("values", []))

    def _append(self, tab: _Tab, key_index: int, rows: list[tuple[str, list[Value]]]) -> None:
        width = max(len(row) for _, row in rows)
        path = f"/values/{quote(tab.a1(0, 1, width - 1, None), safe='')}:append"
        params = {"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"}
        pending = rows
        for attempt in range(self.max_attempts):
            body = {"majorDimension": "ROWS", "values": [row for _, row in pending]}
            try:
                self._api("POST", path, params=params, body=body, replay=False)
            except _Uncertain:
                self._pause(attempt, None)
                present = self._key_rows(self._tab(refresh=True), key_index)
                pending = [(key, row) for key, row in pending if key not in present]
                if not pending:
                    return
                continue
            finally:
                self._tab_cache = None
            return
        raise ConnectorUnavailable(
            "Google Sheets did not confirm the new rows; they will be retried."
        )

    # -- HTTP, tokens and errors --------------------------------------------------------------

    def _api(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        replay: bool = True,
    ) -> dict[str, Any]:
        base = getattr(django_settings, "GOOGLE_SHEETS_API_BASE", DEFAULT_API_BASE).rstrip("/")
        url = f"{base}/v4/spreadsheets/{quote(self.spreadsheet_id, safe='')}{path}"
        for fresh in (False, True):
            headers = {"Authorization": f"Bearer {self._access_token()}"}
            response = self._send(
                method, url, params=params, json=body, headers=headers, replay=replay
            )
            if response.status_code != 401 or fresh:
                break
            self._token = None  # revoked or expired early: one new token, one more try
        if response.is_success:
            result: dict[str, Any] = response.json()
            return result
        raise self._api_error(response)

    def _access_token(self) -> str:
        if self._token is not None and time.monotonic() < self._token_expires:
            return self._token
        url = getattr(django_settings, "GOOGLE_OAUTH_TOKEN_URL", DEFAULT_TOKEN_URL)
        if self._account is not None:
            now = int(time.time())
            claims = {
                "iss": self._account["client_email"],
                "scope": SCOPE,
                "aud": url,
                "iat": now,
                "exp": now + 3600,
            }
            kid = self._account.get("private_key_id")
            try:
                assertion = jwt.encode(
                    claims,
                    self._account["private_key"],
                    algorithm="RS256",
                    headers={"kid": kid} if kid else None,
                )
            except (ValueError, TypeError, jwt.PyJWTError):
                raise ConnectorConfigError(
                    "The service account key's private_key is not an RSA key."
                ) from None
            form = {"grant_type": JWT_BEARER, "assertion": assertion}
        else:
            creds = self.settings.credentials
            form = {"grant_type": "refresh_token", **{k: creds[k] for k in _OAUTH_FIELDS}}
        response = self._send("POST", url, data=form)  # 429 and 5xx do not come back
        if not response.is_success:
            body = _json_body(response)
            detail = (
                body.get("error_description") or body.get("error") or f"HTTP {response.status_code}"
            )
            hint = (
                "check that the service account key is current and pasted whole"
                if self._account is not None
                else "connect the Google account again"
            )
            raise ConnectorAuthError(
                f"Google refused the credentials ({self._redact(str(detail))}): {hint}."
            )
        body = response.json()
        self._token = str(body["access_token"])
        self._token_expires = time.monotonic() + max(int(body.get("expires_in", 3600)) - 60, 0)
        return self._token

    def _send(self, method: str, url: str, *, replay: bool = True, **kwargs: Any) -> httpx.Response:
        """One call, retried on 429, 5xx and network failures with bounded backoff. With
        `replay=False` a failure that may have reached Google (5xx, a lost answer) raises
        `_Uncertain` instead of being retried blindly."""
        for attempt in range(self.max_attempts):
            retry_after: float | None = None
            try:
                response = self._http.request(method, url, **kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                failure = f"could not be reached ({type(exc).__name__})"
            except httpx.TransportError as exc:
                failure = f"did not answer ({type(exc).__name__})"
                if not replay:
                    raise _Uncertain(
                        f"Google Sheets {failure}; the write will be checked."
                    ) from None
            else:
                if response.status_code != 429 and response.status_code < 500:
                    return response
                failure = f"answered HTTP {response.status_code}: {self._google_message(response)}"
                if response.status_code >= 500 and not replay:
                    raise _Uncertain(f"Google Sheets {failure}")
                retry_after = _retry_after(response)
            log.info("connectors.sheets.retry", attempt=attempt + 1, failure=failure)
            if attempt + 1 < self.max_attempts:
                self._pause(attempt, retry_after)
        raise ConnectorUnavailable(
            f"Google Sheets {failure}, {self.max_attempts} times; the sync will try again later."
        )

    def _pause(self, attempt: int, retry_after: float | None) -> None:
        if retry_after is not None:
            delay = min(retry_after, self.retry_after_cap)
        else:
            delay = _jitter.uniform(0, min(self.backoff_cap, self.backoff_base * 2**attempt))
        self.sleep(delay)

    def _api_error(self, response: httpx.Response) -> ConnectorError:
        status, message = response.status_code, self._google_message(response)
        error = _json_body(response).get("error")
        reasons = json.dumps(error.get("details", [])) if isinstance(error, dict) else ""
        if status == 401:
            return ConnectorAuthError(f"Google refused the credentials: {message}")
        if status == 403 and ("SERVICE_DISABLED" in reasons or "has not been used" in message):
            return ConnectorAuthError(
                f"The Google Sheets API is not enabled for the credentials' project: {message}"
            )
        if status == 403 and "scope" in message.lower():
            return ConnectorAuthError(
                f"The credentials were not granted access to Google Sheets: {message}"
            )
        if status == 403:
            if self._account is not None:
                return ConnectorAuthError(
                    "The service account has no access to the spreadsheet: share it with "
                    f"{self._account['client_email']} (as an editor)."
                )
            return ConnectorAuthError(
                "The Google account that was connected has no access to the spreadsheet: share "
                "it with that account (as an editor)."
            )
        if status == 404:
            return ConnectorConfigError(
                f"Google found no spreadsheet with the id {self.spreadsheet_id!r}: check the id."
            )
        if status == 400:
            return ConnectorConfigError(f"Google Sheets refused the request: {message}")
        return ConnectorError(f"Google Sheets answered HTTP {status}: {message}")

    def _google_message(self, response: httpx.Response) -> str:
        error = _json_body(response).get("error")
        message = error.get("message") if isinstance(error, dict) else None
        return self._redact(str(message or response.reason_phrase or "no details"))

    def _redact(self, text: str) -> str:
        secrets = [
            self._token,
            *(str(self.settings.credentials.get(k) or "") for k in _OAUTH_FIELDS),
        ]
        for secret in secrets:
            if secret and len(secret) >= 8:
                text = text.replace(secret, "[redacted]")
        return text


def _json_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(float((when - datetime.now(UTC)).total_seconds()), 0.0)
