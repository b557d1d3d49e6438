"""A wire-level stand-in for the Google Sheets API v4 and Google's OAuth 2.0 token endpoint,
installed on a respx router: in-memory spreadsheets (tabs with a sheetId, a title, a grid), service
accounts whose JWTs are checked against their public keys, OAuth clients with refresh tokens,
sharing, and a switch that answers the next calls with 429 RESOURCE_EXHAUSTED.

    fake = FakeGoogle()
    key = fake.service_account()      # the JSON key file, as a dict
    book = fake.add_spreadsheet([["Record ID", "Email"], ["k1", "a@x.test"]], shared_with=[key])
    with fake.mocked():               # or fake.install(respx_router)
        ...                           # code under test calls Google
    book.rows()                       # [["Record ID", "Email"], ["k1", "a@x.test"]]
    fake.fail_next(2)                 # the next two API calls get 429
    fake.actions()                    # ["token", "get", "values.get", ...]

What it implements, in the shapes Google documents: GET /v4/spreadsheets/{id} (`fields`
sheets.properties), GET .../values/{range} (A1 notation, majorDimension, valueRenderOption;
trailing empty rows and cells left out), POST .../values:batchUpdate and .../values/{range}:append
(valueInputOption RAW or USER_ENTERED; JSON null skips a cell, "" clears it; insertDataOption),
POST /v4/spreadsheets/{id}:batchUpdate (deleteDimension), and the token endpoint's JWT bearer and
refresh token grants. Errors are Google's `{"error": {"code", "message", "status"}}` (and the
token endpoint's `{"error", "error_description"}`)."""

from __future__ import annotations

import copy
import json
import re
import secrets
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
import jwt
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DEFAULT_API_BASE = "https://sheets.googleapis.com"
DEFAULT_TOKEN_URL = "https://oauth2.googleapis.com/token"
SHEETS_SCOPES = {
    "https://www.googleapis.com/auth/spreadsheets",
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/drive.file",
}
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_CELL = re.compile(r"([A-Za-z]*)(\d*)")


def rsa_private_pem() -> str:
    """A fresh RSA private key in PEM (PKCS#8), as Google puts in a service account key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def column_index(letters: str) -> int:
    index = 0
    for char in letters.upper():
        index = index * 26 + ord(char) - ord("A") + 1
    return index - 1


def column_letters(index: int) -> str:
    letters, index = "", index + 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


class _Answer(Exception):
    """Raised inside a handler to answer with `response`."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _google_error(code: int, message: str, status: str, **extra: Any) -> _Answer:
    return _Answer(
        httpx.Response(
            code, json={"error": {"code": code, "message": message, "status": status, **extra}}
        )
    )


def _bad_request(message: str) -> _Answer:
    return _google_error(400, message, "INVALID_ARGUMENT")


@dataclass
class Tab:
    sheet_id: int
    title: str
    index: int
    row_count: int = 1000
    column_count: int = 26
    grid: list[list[Any]] = field(default_factory=list)  # rows of cell values; None = empty

    def get(self, row: int, col: int) -> Any:
        if row < len(self.grid) and col < len(self.grid[row]):
            return self.grid[row][col]
        return None

    def put(self, row: int, col: int, value: Any) -> None:
        while len(self.grid) <= row:
            self.grid.append([])
        cells = self.grid[row]
        while len(cells) <= col:
            cells.append(None)
        cells[col] = value

    def insert_rows(self, at: int, count: int) -> None:
        if at < len(self.grid):
            self.grid[at:at] = [[] for _ in range(count)]
        self.row_count += count

    def delete_rows(self, start: int, end: int) -> None:
        del self.grid[start:end]
        self.row_count -= end - start

    def ref(self) -> str:
        return (
            self.title
            if re.fullmatch(r"[A-Za-z0-9_]+", self.title)
            else ("'" + self.title.replace("'", "''") + "'")
        )

    def properties(self) -> dict[str, Any]:
        return {
            "sheetId": self.sheet_id,
            "title": self.title,
            "index": self.index,
            "sheetType": "GRID",
            "gridProperties": {"rowCount": self.row_count, "columnCount": self.column_count},
        }

    def read(self, r1: int, c1: int, r2: int, c2: int) -> list[list[Any]]:
        """Cells of the rectangle, trailing empty cells and rows left out, "" for inner gaps."""
        rows = []
        for r in range(r1, r2 + 1):
            cells = [self.get(r, c) for c in range(c1, c2 + 1)]
            while cells and cells[-1] is None:
                cells.pop()
            rows.append(["" if v is None else v for v in cells])
        while rows and not rows[-1]:
            rows.pop()
        return rows


@dataclass
class Spreadsheet:
    spreadsheet_id: str
    title: str
    tabs: list[Tab]
    shared_with: set[str] = field(default_factory=set)

    def tab(self, title: str | None = None) -> Tab:
        if title is None:
            return self.tabs[0]
        return next(t for t in self.tabs if t.title == title)

    def rows(self, tab: str | None = None) -> list[list[Any]]:
        """The tab's cells as values.get would return them unformatted (trimmed)."""
        sheet = self.tab(tab)
        return sheet.read(0, 0, sheet.row_count - 1, sheet.column_count - 1)

    def add_tab(
        self,
        title: str,
        rows: Iterable[Iterable[Any]] = (),
        *,
        row_count: int = 1000,
        column_count: int = 26,
    ) -> Tab:
        sheet_id = secrets.randbelow(2**31) if self.tabs else 0
        tab = Tab(sheet_id, title, len(self.tabs), row_count=row_count, column_count=column_count)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value not in (None, ""):
                    tab.put(r, c, value)
        self.tabs.append(tab)
        return tab


@dataclass
class Call:
    """One request the fake answered."""

    action: str  # token, get, values.get, values.batchUpdate, values.append, batchUpdate, unknown
    method: str
    path: str
    params: dict[str, str]
    body: Any
    headers: dict[str, str]
    status: int = 0


@dataclass(frozen=True)
class _Failure:
    status: int
    retry_after: str | None
    action: str | None
    after_applying: bool

    def answer(self) -> _Answer:
        headers = {"Retry-After": self.retry_after} if self.retry_after else {}
        if self.status == 429:
            message = (
                "Quota exceeded for quota metric 'Write requests' and limit 'Write requests per "
                "minute per user' of service 'sheets.googleapis.com'."
            )
            state = "RESOURCE_EXHAUSTED"
        else:
            message, state = "The service is currently unavailable.", "UNAVAILABLE"
        payload = {"error": {"code": self.status, "message": message, "status": state}}
        return _Answer(httpx.Response(self.status, json=payload, headers=headers))


@dataclass
class _Principal:
    email: str
    scopes: set[str]
    expires_at: float


class FakeGoogle:
    def __init__(
        self, *, api_base: str = DEFAULT_API_BASE, token_url: str = DEFAULT_TOKEN_URL
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self.token_url = token_url
        self.spreadsheets: dict[str, Spreadsheet] = {}
        self.calls: list[Call] = []
        self._accounts: dict[str, rsa.RSAPublicKey] = {}  # client_email → public key
        self._clients: dict[str, str] = {}  # client_id → client_secret
        self._refresh_tokens: dict[str, tuple[str, str, set[str]]] = {}  # → client, email, scope
        self._tokens: dict[str, _Principal] = {}
        self._failures: list[_Failure] = []
        self.issued_tokens: list[str] = []  # every access token handed out, for leak checks

    # -- setting up -----------------------------------------------------------------------------

    def service_account(
        self, email: str = "sync@demo-project.iam.gserviceaccount.com"
    ) -> dict[str, Any]:
        """A service account known to the token endpoint; returns its JSON key file."""
        pem = rsa_private_pem()
        private = serialization.load_pem_private_key(pem.encode(), None)
        assert isinstance(private, rsa.RSAPrivateKey)
        self._accounts[email] = private.public_key()
        return {
            "type": "service_account",
            "project_id": "demo-project",
            "private_key_id": secrets.token_hex(20),
            "private_key": pem,
            "client_email": email,
            "client_id": str(secrets.randbelow(10**20)),
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_url,
        }

    def oauth_client(
        self, email: str = "owner@example.test", scopes: Iterable[str] = SHEETS_SCOPES
    ) -> dict[str, str]:
        """An OAuth client and a refresh token a user (`email`) granted it: the three fields."""
        client_id = f"{secrets.randbelow(10**12)}-fake.apps.googleusercontent.com"
        self._clients[client_id] = secret = f"GOCSPX-{secrets.token_urlsafe(20)}"
        refresh = f"1//{secrets.token_urlsafe(40)}"
        self._refresh_tokens[refresh] = (client_id, email, set(scopes))
        return {"client_id": client_id, "client_secret": secret, "refresh_token": refresh}

    def add_spreadsheet(
        self,
        rows: Iterable[Iterable[Any]] = (),
        *,
        tab: str = "Sheet1",
        more_tabs: Iterable[str] = (),
        shared_with: Iterable[str | dict[str, Any]] = (),
        title: str = "Contacts",
        row_count: int = 1000,
        column_count: int = 26,
    ) -> Spreadsheet:
        """A spreadsheet whose first tab holds `rows`; shared with the given e-mail addresses
        or service account keys."""
        spreadsheet_id = "1" + secrets.token_urlsafe(32).replace("-", "x")[:43]
        book = Spreadsheet(spreadsheet_id=spreadsheet_id, title=title, tabs=[])
        book.add_tab(tab, rows, row_count=row_count, column_count=column_count)
        for other in more_tabs:
            book.add_tab(other)
        self.spreadsheets[spreadsheet_id] = book
        for who in shared_with:
            self.share(book, who)
        return book

    def share(self, book: Spreadsheet, who: str | dict[str, Any]) -> None:
        book.shared_with.add(who if isinstance(who, str) else who["client_email"])

    def fail_next(
        self,
        count: int,
        *,
        status: int = 429,
        retry_after: str | None = None,
        action: str | None = None,
        after_applying: bool = False,
    ) -> None:
        """Answer the next `count` Sheets API calls (or calls of one `action`, e.g.
        "values.append") with `status`: 429 RESOURCE_EXHAUSTED or a 5xx, with a Retry-After
        header if given. `after_applying` carries the call out first and then fails, as when
        Google's answer is lost on the way back."""
        self._failures += [_Failure(status, retry_after, action, after_applying)] * count

    def stop_failing(self) -> None:
        """Forget the failures `fail_next` queued that have not happened yet."""
        self._failures.clear()

    def revoke_tokens(self) -> None:
        """Every access token issued so far stops working (as if expired)."""
        self._tokens.clear()

    def actions(self) -> list[str]:
        return [call.action for call in self.calls]

    # -- wiring -------------------------------------------------------------------------------

    def install(self, router: respx.Router) -> None:
        router.post(self.token_url).mock(side_effect=self._answer_token)
        router.route(url__startswith=f"{self.api_base}/v4/").mock(side_effect=self._answer_api)

    @contextmanager
    def mocked(self) -> Iterator[respx.MockRouter]:
        with respx.mock(assert_all_called=False) as router:
            self.install(router)
            yield router

    # -- the token endpoint -------------------------------------------------------------------

    def _answer_token(self, request: httpx.Request) -> httpx.Response:
        form = dict(parse_qsl(request.content.decode()))
        call = Call("token", "POST", request.url.path, {}, form, dict(request.headers))
        self.calls.append(call)
        try:
            if form.get("grant_type") == JWT_BEARER:
                principal = self._jwt_grant(form.get("assertion", ""))
            elif form.get("grant_type") == "refresh_token":
                principal = self._refresh_grant(form)
            else:
                raise _token_error(
                    400, "unsupported_grant_type", f"Invalid grant_type: {form.get('grant_type')}"
                )
        except _Answer as answer:
            call.status = answer.response.status_code
            return answer.response
        token = f"ya29.fake-{secrets.token_urlsafe(32)}"
        self._tokens[token] = principal
        self.issued_tokens.append(token)
        body = {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}
        if form.get("grant_type") == "refresh_token":
            body["scope"] = " ".join(sorted(principal.scopes))
        call.status = 200
        return httpx.Response(200, json=body)

    def _jwt_grant(self, assertion: str) -> _Principal:
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise _token_error(400, "invalid_grant", "Invalid JWT.") from None
        public = self._accounts.get(str(unverified.get("iss")))
        if public is None:
            raise _token_error(400, "invalid_grant", "Invalid grant: account not found")
        try:
            claims = jwt.decode(
                assertion,
                public,
                algorithms=["RS256"],
                audience=self.token_url,
                options={"require": ["iss", "aud", "iat", "exp"]},
            )
        except jwt.InvalidSignatureError:
            raise _token_error(400, "invalid_grant", "Invalid JWT Signature.") from None
        except jwt.InvalidAudienceError:
            raise _token_error(
                400, "invalid_grant", "Invalid JWT: Failed audience check."
            ) from None
        except jwt.PyJWTError:
            raise _token_error(
                400,
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
                "timeframe. Check your iat and exp values in the JWT claim.",
            ) from None
        if claims["exp"] - claims["iat"] > 3600:
            raise _token_error(
                400,
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived "
                "token (60 minutes) and in a reasonable timeframe.",
            )
        scopes = set(str(claims.get("scope", "")).split())
        if not scopes:
            raise _token_error(
                400, "invalid_scope", "Invalid OAuth scope or ID token audience provided."
            )
        return _Principal(str(claims["iss"]), scopes, time.time() + 3599)

    def _refresh_grant(self, form: dict[str, str]) -> _Principal:
        client_id = form.get("client_id", "")
        if client_id not in self._clients:
            raise _token_error(401, "invalid_client", "The OAuth client was not found.")
        if self._clients[client_id] != form.get("client_secret"):
            raise _token_error(401, "invalid_client", "Unauthorized")
        grant = self._refresh_tokens.get(form.get("refresh_token", ""))
        if grant is None or grant[0] != client_id:
            raise _token_error(400, "invalid_grant", "Token has been expired or revoked.")
        return _Principal(grant[1], grant[2], time.time() + 3599)

    # -- the Sheets API -----------------------------------------------------------------------

    def _answer_api(self, request: httpx.Request) -> httpx.Response:
        raw_path = request.url.raw_path.decode().split("?", 1)[0]
        params = dict(request.url.params)
        body = json.loads(request.content) if request.content else None
        call = Call(
            "unknown", request.method, unquote(raw_path), params, body, dict(request.headers)
        )
        self.calls.append(call)
        try:
            handler, book_id, range_text = self._route(request.method, raw_path, call)
            failure = next((f for f in self._failures if f.action in (None, call.action)), None)
            if failure is not None:
                self._failures.remove(failure)
                if not failure.after_applying:
                    raise failure.answer()
            principal = self._authenticate(request)
            book = self.spreadsheets.get(book_id)
            if book is None:
                raise _google_error(404, "Requested entity was not found.", "NOT_FOUND")
            if principal.email not in book.shared_with:
                raise _google_error(403, "The caller does not have permission", "PERMISSION_DENIED")
            if not principal.scopes & SHEETS_SCOPES:
                raise _google_error(
                    403,
                    "Request had insufficient authentication scopes.",
                    "PERMISSION_DENIED",
                    details=[{"reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}],
                )
            result = handler(book, range_text, params, body)
            if failure is not None:
                raise failure.answer()
        except _Answer as answer:
            call.status = answer.response.status_code
            return answer.response
        call.status = 200
        return httpx.Response(200, json=result)

    def _route(self, method: str, raw_path: str, call: Call) -> tuple[Any, str, str]:
        prefix = httpx.URL(self.api_base).raw_path.decode().rstrip("/") + "/v4/spreadsheets/"
        if not raw_path.startswith(prefix):
            raise _google_error(404, "Not found.", "NOT_FOUND")
        parts = raw_path[len(prefix) :].split("/")
        head, _, verb = parts[0].partition(":")
        routes: dict[tuple[str, int, str], tuple[str, Any]] = {
            ("GET", 1, ""): ("get", self._get),
            ("POST", 1, "batchUpdate"): ("batchUpdate", self._batch_update),
            ("POST", 2, "values:batchUpdate"): ("values.batchUpdate", self._values_batch_update),
            ("GET", 3, ""): ("values.get", self._values_get),
            ("POST", 3, "append"): ("values.append", self._values_append),
        }
        range_text = ""
        if len(parts) == 2:
            verb = parts[1]
        elif len(parts) == 3 and parts[1] == "values":
            range_raw = parts[2]
            if method == "POST":
                range_raw, _, verb = range_raw.rpartition(":")
            range_text = unquote(range_raw)
        route = routes.get((method, len(parts), verb))
        if route is None:
            raise _google_error(404, "Method not found.", "NOT_FOUND")
        call.action = route[0]
        return route[1], unquote(head), range_text

    def _authenticate(self, request: httpx.Request) -> _Principal:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        principal = self._tokens.get(token) if scheme == "Bearer" else None
        if principal is None or principal.expires_at < time.time():
            raise _Answer(
                httpx.Response(
                    401,
                    json={
                        "error": {
                            "code": 401,
                            "message": "Request had invalid authentication credentials. Expected "
                            "OAuth 2 access token, login cookie or other valid authentication "
                            "credential.",
                            "status": "UNAUTHENTICATED",
                        }
                    },
                    headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
                )
            )
        return principal

    # -- A1 notation --------------------------------------------------------------------------

    def _resolve(
        self, book: Spreadsheet, text: str, *, clip: bool = True
    ) -> tuple[Tab, int, int, int, int]:
        """(tab, first row, first col, last row, last col), 0-based and inclusive."""
        titles = {t.title: t for t in book.tabs}
        if "!" in text:
            name, _, cells = text.rpartition("!")
            if name.startswith("'") and name.endswith("'") and len(name) >= 2:
                name = name[1:-1].replace("''", "'")
            tab = titles.get(name)
        elif text in titles or text.strip("'").replace("''", "'") in titles:
            tab, cells = titles.get(text) or titles[text.strip("'").replace("''", "'")], ""
        else:
            tab, cells = book.tabs[0], text
        if tab is None:
            raise _bad_request(f"Unable to parse range: {text}")
        r1: int = 0
        c1: int = 0
        r2: int | None = None
        c2: int | None = None
        if cells:
            start, colon, end = cells.partition(":")
            col, row = self._cell(start, text)
            r1, c1 = row or 0, col or 0
            c2, r2 = self._cell(end, text) if colon else (col, row)
        if r1 >= tab.row_count or c1 >= tab.column_count:
            raise _bad_request(
                f"Range ({tab.ref()}!{cells or 'A1'}) exceeds grid limits. Max rows: "
                f"{tab.row_count}, max columns: {tab.column_count}"
            )
        r2 = tab.row_count - 1 if r2 is None else r2
        c2 = tab.column_count - 1 if c2 is None else c2
        if clip:
            r2, c2 = min(r2, tab.row_count - 1), min(c2, tab.column_count - 1)
        elif r2 >= tab.row_count or c2 >= tab.column_count:
            raise _bad_request(
                f"Range ({text}) exceeds grid limits. Max rows: {tab.row_count}, max columns: "
                f"{tab.column_count}"
            )
        return tab, min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)

    @staticmethod
    def _cell(ref: str, text: str) -> tuple[int | None, int | None]:
        match = _CELL.fullmatch(ref)
        if not match or not (match[1] or match[2]) or match[2] == "0":
            raise _bad_request(f"Unable to parse range: {text}")
        col = column_index(match[1]) if match[1] else None
        row = int(match[2]) - 1 if match[2] else None
        return col, row

    @staticmethod
    def _a1(tab: Tab, r1: int, c1: int, r2: int, c2: int) -> str:
        return f"{tab.ref()}!{column_letters(c1)}{r1 + 1}:{column_letters(c2)}{r2 + 1}"

    # -- methods ------------------------------------------------------------------------------

    def _get(self, book: Spreadsheet, _range: str, params: dict[str, str], _body: Any) -> Any:
        sheets = [{"properties": t.properties()} for t in book.tabs]
        if params.get("fields") == "sheets.properties":
            return {"sheets": sheets}
        return {
            "spreadsheetId": book.spreadsheet_id,
            "properties": {"title": book.title, "locale": "en_US", "timeZone": "Etc/GMT"},
            "sheets": sheets,
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{book.spreadsheet_id}/edit",
        }

    def _values_get(self, book: Spreadsheet, text: str, params: dict[str, str], _: Any) -> Any:
        tab, r1, c1, r2, c2 = self._resolve(book, text)
        dimension = params.get("majorDimension", "ROWS")
        render = params.get("valueRenderOption", "FORMATTED_VALUE")
        if dimension == "COLUMNS":
            columns = [tab.read(r1, c, r2, c) for c in range(c1, c2 + 1)]
            values = [[row[0] if row else "" for row in col] for col in columns]
            while values and not values[-1]:
                values.pop()
        else:
            values = tab.read(r1, c1, r2, c2)
        if render == "FORMATTED_VALUE":
            values = [[_formatted(v) for v in row] for row in values]
        result: dict[str, Any] = {
            "range": self._a1(tab, r1, c1, r2, c2),
            "majorDimension": dimension,
        }
        if values:
            result["values"] = values
        return result

    def _values_batch_update(self, book: Spreadsheet, _: str, _p: dict[str, str], body: Any) -> Any:
        body = body or {}
        option = _input_option(body.get("valueInputOption"))
        staged, responses = [], []
        for n, value_range in enumerate(body.get("data", [])):
            writes, response = self._stage(book, value_range, option, f"data[{n}]")
            staged.append(writes)
            responses.append(response)
        for writes in staged:
            for tab, r, c, value in writes:
                tab.put(r, c, value)
        return {
            "spreadsheetId": book.spreadsheet_id,
            "totalUpdatedRows": sum(r["updatedRows"] for r in responses),
            "totalUpdatedColumns": max((r["updatedColumns"] for r in responses), default=0),
            "totalUpdatedCells": sum(r["updatedCells"] for r in responses),
            "totalUpdatedSheets": len({id(w[0][0]) for w in staged if w}),
            "responses": [{"spreadsheetId": book.spreadsheet_id, **r} for r in responses],
        }

    def _stage(
        self, book: Spreadsheet, value_range: dict[str, Any], option: str, where: str
    ) -> tuple[list[tuple[Tab, int, int, Any]], dict[str, Any]]:
        tab, r1, c1, r2, c2 = self._resolve(book, str(value_range.get("range", "")), clip=False)
        rows = _oriented(value_range)
        writes = []
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                if r1 + i > r2 or c1 + j > c2:
                    raise _bad_request(
                        f"Requested writing within range [{value_range.get('range')}], but "
                        f"tried writing to row [{r1 + i + 1}] column [{column_letters(c1 + j)}]"
                    )
                if value is not None:
                    writes.append((tab, r1 + i, c1 + j, _stored(value, option, f"{where}")))
        height = len(rows)
        width = max((len(row) for row in rows), default=0)
        response = {
            "updatedRange": self._a1(tab, r1, c1, r1 + max(height, 1) - 1, c1 + max(width, 1) - 1),
            "updatedRows": len({w[1] for w in writes}),
            "updatedColumns": len({w[2] for w in writes}),
            "updatedCells": len(writes),
        }
        return writes, response

    def _values_append(
        self, book: Spreadsheet, text: str, params: dict[str, str], body: Any
    ) -> Any:
        body = body or {}
        option = _input_option(params.get("valueInputOption"))
        insert = params.get("insertDataOption", "OVERWRITE")
        if insert not in {"OVERWRITE", "INSERT_ROWS"}:
            raise _bad_request(f"Invalid value at 'insert_data_option' ({insert})")
        if body.get("range") not in (None, text):
            raise _bad_request(
                f"Requested range [{body.get('range')}] must match the range in the URL [{text}]"
            )
        tab, r1, c1, _, c2 = self._resolve(book, text)

        # The table: the first non-empty row at or below the range's top, and the rows under it
        # without a gap (looking at the range's columns).
        def filled(r: int) -> bool:
            return any(tab.get(r, c) is not None for c in range(c1, c2 + 1))

        top = next((r for r in range(r1, tab.row_count) if filled(r)), None)
        table_range = None
        at = r1
        if top is not None:
            bottom = top
            while bottom + 1 < tab.row_count and filled(bottom + 1):
                bottom += 1
            table_range = self._a1(tab, top, c1, bottom, c2)
            at = bottom + 1
        rows = _oriented(body)
        if insert == "INSERT_ROWS" or at + len(rows) > tab.row_count:
            needed = len(rows) if insert == "INSERT_ROWS" else at + len(rows) - tab.row_count
            tab.insert_rows(at, needed)
        written = 0
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                if value is not None:
                    tab.put(at + i, c1 + j, _stored(value, option, "values"))
                    written += 1
        width = max((len(row) for row in rows), default=1)
        result: dict[str, Any] = {
            "spreadsheetId": book.spreadsheet_id,
            "updates": {
                "spreadsheetId": book.spreadsheet_id,
                "updatedRange": self._a1(tab, at, c1, at + max(len(rows), 1) - 1, c1 + width - 1),
                "updatedRows": len(rows),
                "updatedColumns": width,
                "updatedCells": written,
            },
        }
        if table_range:
            result["tableRange"] = table_range
        return result

    def _batch_update(self, book: Spreadsheet, _: str, _p: dict[str, str], body: Any) -> Any:
        requests = (body or {}).get("requests") or []
        if not requests:
            raise _bad_request("Must specify at least one request.")
        work = copy.deepcopy(book.tabs)
        by_id = {t.sheet_id: t for t in work}
        for n, request in enumerate(requests):
            kind = next(iter(request), "")
            if kind != "deleteDimension":
                raise _bad_request(
                    f"Invalid requests[{n}]: the fake implements deleteDimension only"
                )
            span = request[kind].get("range", {})
            tab = by_id.get(span.get("sheetId", 0))
            if tab is None:
                raise _bad_request(
                    f"Invalid requests[{n}].deleteDimension: No grid with id: {span.get('sheetId')}"
                )
            if span.get("dimension") != "ROWS":
                raise _bad_request(f"Invalid requests[{n}].deleteDimension: the fake deletes rows")
            start, end = span.get("startIndex", 0), span.get("endIndex", tab.row_count)
            if not 0 <= start < end <= tab.row_count:
                raise _bad_request(f"Invalid requests[{n}].deleteDimension: range out of bounds")
            if end - start >= tab.row_count:
                raise _bad_request(
                    f"Invalid requests[{n}].deleteDimension: You can't delete all "
                    "the rows on the sheet."
                )
            tab.delete_rows(start, end)
        book.tabs[:] = work
        return {"spreadsheetId": book.spreadsheet_id, "replies": [{} for _ in requests]}


def _token_error(status: int, error: str, description: str) -> _Answer:
    return _Answer(httpx.Response(status, json={"error": error, "error_description": description}))


def _input_option(option: Any) -> str:
    if option is None:
        raise _bad_request("'valueInputOption' is required but not specified")
    if option not in {"RAW", "USER_ENTERED"}:
        raise _bad_request(f"Invalid value at 'value_input_option' ({option})")
    return str(option)


def _oriented(value_range: dict[str, Any]) -> list[list[Any]]:
    rows = value_range.get("values") or []
    if value_range.get("majorDimension", "ROWS") == "COLUMNS":
        height = max((len(col) for col in rows), default=0)
        rows = [[col[i] if i < len(col) else None for col in rows] for i in range(height)]
    return [list(row) for row in rows]


def _stored(value: Any, option: str, where: str) -> Any:
    if isinstance(value, dict | list):
        raise _bad_request(f"Invalid values at '{where}': a cell holds a bool, string or number")
    if value == "":
        return None
    if option == "USER_ENTERED" and isinstance(value, str):
        if value.startswith("'"):
            return value[1:]
        if value.upper() in {"TRUE", "FALSE"}:
            return value.upper() == "TRUE"
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() else number
    return value


def _formatted(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)
