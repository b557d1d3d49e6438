"""The client's own database as a connection: one table of PostgreSQL or MySQL/MariaDB.

credentials: {"url": "postgresql://user:pass@host:5432/db?sslmode=require"} — also `postgres://`,
    `mysql://`, `mariadb://`; PostgreSQL takes `?sslmode=` (disable, allow, prefer (default),
    require, verify-full), MySQL `?ssl=true|false` or `?ssl_mode=` (disabled, preferred (default),
    required, verify_ca, verify_identity; `ssl=true` is verify_identity).
config: {"table": "contacts" (PostgreSQL: also "schema.contacts"), "key_column": "id",
    "modified_column": "updated_at" (optional), "create_table": false}

Each row is a record keyed by `key_column`. With `modified_column`, `changes` pages through rows by
(modified, key), so each run reads only the rows changed since the last one; rows whose modified
value is empty are never read (`check` refuses such a table) and a row written by a transaction
that commits after a later-stamped one was read can be missed, as with any timestamp cursor.
Without it every run reads the whole table in key order and the cursor returns to None at the
end, so the next run starts over. Naive timestamps are read as UTC (the sessions run in UTC).

New rows get a uuid4 hex key, so a key column that should take rows from GHL must hold text.
Every host is resolved through the SSRF guard and the connection goes to that address alone."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import structlog

from .base import (
    ChangePage,
    Connector,
    ConnectorConfigError,
    ConnectorError,
    ConnectorSettings,
    ConnectorUnavailable,
    ExternalRecord,
    OutboundRecord,
    Value,
    register,
)
from .sql_dialects import Dialect, MissingTable, MySQL, Postgres, Table, Target, dialect_for
from .ssrf import resolve_public

log = structlog.get_logger(__name__)

SCHEMES = {
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
}
_IDENTIFIER = re.compile(r"\w+")
_HOST = re.compile(r"[A-Za-z0-9.\-]+|[0-9A-Fa-f:.]+")
MAX_IDENTIFIER_BYTES = 63  # PostgreSQL's limit (MySQL's is 64)


def _bad_url(reason: str) -> ConnectorConfigError:
    return ConnectorConfigError(f"The database URL is not usable: {reason}.")


def parse_url(url: object) -> Target:
    """The connection target of a URL; messages never repeat the URL (it holds the password)."""
    if not isinstance(url, str) or not url.strip():
        raise _bad_url("it is missing")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
        query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise _bad_url(
            "it cannot be read (are special characters in the password percent-encoded?)"
        ) from None
    engine = SCHEMES.get(parts.scheme.lower())
    if engine is None:
        raise _bad_url("it must start with postgresql://, postgres://, mysql:// or mariadb://")
    host = parts.hostname or ""
    if not host:
        raise _bad_url("it names no host")
    if not _HOST.fullmatch(host) or len(host) > 253:
        raise _bad_url("the host name is not valid")
    database = unquote(parts.path.lstrip("/"))
    if not database or "/" in database:
        raise _bad_url("it names no database (…/database_name at the end)")
    user = unquote(parts.username or "")
    if not user:
        raise _bad_url("it names no user (scheme://user:password@host/…)")
    options = dict(query)
    tls = _tls_mode(engine, options)
    return Target(
        engine=engine,
        host=host,
        port=port or (5432 if engine == "postgresql" else 3306),
        user=user,
        password=unquote(parts.password or ""),
        database=database,
        tls=tls,
    )


def _tls_mode(engine: str, options: dict[str, str]) -> str:
    if engine == "postgresql":
        unknown = set(options) - {"sslmode"}
        mode = options.get("sslmode", "prefer").lower()
        if mode == "verify-ca":
            raise _bad_url("use sslmode=verify-full to check the server's certificate")
        allowed = Postgres.tls_modes
    else:
        unknown = set(options) - {"ssl", "ssl_mode", "ssl-mode"}
        mode = (options.get("ssl_mode") or options.get("ssl-mode") or "preferred").lower()
        mode = mode.replace("-", "_")
        if "ssl" in options:
            flag = options["ssl"].lower()
            if flag not in ("true", "false", "1", "0"):
                raise _bad_url("ssl must be true or false")
            mode = "verify_identity" if flag in ("true", "1") else "disabled"
        allowed = MySQL.tls_modes
    if unknown:
        raise _bad_url(f"the option {sorted(unknown)[0]!r} is not supported")
    if mode not in allowed:
        raise _bad_url(f"the TLS mode {mode!r} is not one of {', '.join(allowed)}")
    return mode


def identifier(name: object, what: str) -> str:
    """A table or column name we can quote: word characters only, within the length limit."""
    if (
        not isinstance(name, str)
        or not _IDENTIFIER.fullmatch(name)
        or len(name.encode()) > MAX_IDENTIFIER_BYTES
    ):
        raise ConnectorConfigError(
            f"The {what} {name!r:.80} is not a usable name: use letters, digits and underscores "
            f"only, at most {MAX_IDENTIFIER_BYTES} characters."
        )
    return name


def parse_table(name: object, engine: str) -> Table:
    if not isinstance(name, str) or not name:
        raise ConnectorConfigError("Name the table to sync.")
    schema, dot, table = name.rpartition(".")
    if dot and engine != "postgresql":
        raise ConnectorConfigError(
            "Name the table without a database prefix; the URL chooses the database."
        )
    return Table(
        schema=identifier(schema, "schema") if dot else None, name=identifier(table, "table")
    )


def _parse(config: Mapping[str, Any], credentials: Mapping[str, Any]) -> tuple[Target, Table]:
    target = parse_url(credentials.get("url"))
    table = parse_table(config.get("table"), target.engine)
    identifier(config.get("key_column") or "id", "key column")
    if config.get("modified_column"):
        identifier(config["modified_column"], "modified column")
    if config.get("create_table") not in (None, True, False):
        raise ConnectorConfigError("create_table must be true or false.")
    return target, table


def plain(value: Any) -> Value:
    """A column value as one of the interface's plain values."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)  # Decimal (exactly), UUID, time, interval, …


def _as_utc(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return None


# The cursor keeps the last row's own (modified, key) values, typed, so the next comparison is
# made by the database exactly as its ORDER BY sorted them.
def _pack(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    return str(value)  # UUID and the like compare as their text


_UNPACK: dict[str, Callable[[str], Any]] = {
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
    "decimal": Decimal,
}


def _unpack(value: Any) -> Any:
    if isinstance(value, dict):
        ((kind, text),) = value.items()
        return _UNPACK[kind](text)
    return value


@register("sql", "Your own database (PostgreSQL or MySQL/MariaDB)")
class SqlConnector(Connector):
    connect_timeout = 5  # seconds
    statement_timeout = 30  # seconds

    def __init__(self, settings: ConnectorSettings) -> None:
        super().__init__(settings)
        config = settings.config
        self.target, table = _parse(config, settings.credentials)
        self.dialect: Dialect = dialect_for(self.target, table)
        self.key: str = config.get("key_column") or "id"
        self.modified: str | None = config.get("modified_column") or None
        self.create: bool = bool(config.get("create_table", False))
        self.fields = [identifier(f, "column") for f in dict.fromkeys(settings.fields)]
        # Written columns: the mapped ones, but never the key or the database-kept modified time.
        self.writable = [f for f in self.fields if f not in (self.key, self.modified)]
        self._conn: Any = None

    @classmethod
    def validate(cls, config: Mapping[str, Any], credentials: Mapping[str, Any]) -> None:
        target, _ = _parse(config, credentials)
        resolve_public(target.host, target.port)

    # --- connection and errors ---------------------------------------------------------------
    def _connection(self) -> Any:
        if self._conn is None:
            address = resolve_public(self.target.host, self.target.port)
            with self._errors(connecting=True):
                self._conn = self.dialect.connect(
                    address,
                    connect_timeout=self.connect_timeout,
                    statement_timeout=self.statement_timeout,
                )
        return self._conn

    @contextmanager
    def _errors(self, *, connecting: bool = False) -> Iterator[None]:
        try:
            yield
        except ConnectorError as exc:
            raise self._scrubbed(exc) from None
        except Exception as exc:
            error = self.dialect.error(exc, connecting=connecting)
            if error is None:
                if not isinstance(exc, OSError):
                    raise
                error = self.dialect.unreachable()
            if isinstance(error, ConnectorUnavailable):
                self.close()  # the connection may be broken: the next call makes a new one
            log.info("connectors.sql.error", kind=type(error).__name__, engine=self.dialect.label)
            raise self._scrubbed(error) from None

    def _scrubbed(self, error: ConnectorError) -> ConnectorError:
        password = self.target.password
        if password and password in error.message:
            return type(error)(error.message.replace(password, "***"))
        return error

    def _run(self, query: Any, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._errors():
            cursor = self._connection().cursor()
            try:
                cursor.execute(query, params or None)
                return list(cursor.fetchall()) if cursor.description else []
            finally:
                cursor.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # closing a broken connection may fail; it is gone anyway
                log.debug("connectors.sql.close_failed")

    # --- check -------------------------------------------------------------------------------
    def check(self) -> None:
        table = self.dialect.table
        try:
            columns = self._columns()
        except MissingTable:
            if not self.create:
                raise ConnectorConfigError(
                    f"The table {table} does not exist in the database "
                    f"{self.target.database!r}; create it, or let the connection create it."
                ) from None
            with self._errors(), self.dialect.transaction(self._connection()):
                cursor = self._conn.cursor()
                for statement in self.dialect.create_table(self.key, self.writable, self.modified):
                    cursor.execute(statement)
            columns = self._columns()
        wanted = [self.key, *([self.modified] if self.modified else []), *self.fields]
        present = {c.lower() for c in columns} if self.dialect.columns_ignore_case else columns
        missing = [
            c
            for c in dict.fromkeys(wanted)
            if (c.lower() if self.dialect.columns_ignore_case else c) not in present
        ]
        if missing:
            hints = [c for c in columns if c.lower() in {m.lower() for m in missing}]
            raise ConnectorConfigError(
                f"The table {table} has no column {', '.join(repr(c) for c in missing)}"
                + (
                    f" (it has {', '.join(repr(c) for c in hints)}; names are case-sensitive)"
                    if hints
                    else ""
                )
                + "."
            )
        query, params = self.dialect.key_is_unique(self.key)
        if not self._run(query, params)[0][0]:
            raise ConnectorConfigError(
                f"The key column {self.key!r} must be the primary key of {table} (or have a "
                "unique index of its own)."
            )
        if self.modified and self._run(self.dialect.has_null(self.modified)):
            raise ConnectorConfigError(
                f"Some rows of {table} have no value in {self.modified!r}; they would never "
                "sync. Fill it in (and give it a default), or leave the modified column unset."
            )

    def _columns(self) -> list[str]:
        with self._errors():
            cursor = self._connection().cursor()
            try:
                cursor.execute(self.dialect.probe())
                return [d[0] for d in cursor.description]
            finally:
                cursor.close()

    # --- reading -----------------------------------------------------------------------------
    def _selected(self) -> list[str]:
        head = [self.key, *([self.modified] if self.modified else [])]
        return head + [f for f in self.fields if f not in head]

    def _record(self, columns: list[str], row: tuple[Any, ...]) -> ExternalRecord:
        values = dict(zip(columns, row, strict=True))
        return ExternalRecord(
            key=str(row[0]),
            fields={f: plain(values[f]) for f in self.fields},
            modified_at=_as_utc(row[1]) if self.modified else None,
        )

    def _after(self, cursor: str | None) -> list[Any] | None:
        if cursor is None:
            return None
        try:
            state = json.loads(cursor)
            key = _unpack(state["k"])
            modified = _unpack(state["m"]) if "m" in state else None
        except (ValueError, KeyError, TypeError):
            state, key, modified = {}, None, None
        if not state or ("m" in state) != bool(self.modified):
            # Not a cursor of these settings (the modified column changed): start over.
            log.info("connectors.sql.cursor_reset")
            return None
        if not self.modified:
            return [key]
        return self.dialect.after_params(key, modified)

    def changes(self, cursor: str | None, *, limit: int = 500) -> ChangePage:
        limit = max(1, limit)
        columns = self._selected()
        after = self._after(cursor)
        cursor = cursor if after is not None else None
        query = self.dialect.select(columns, self.key, self.modified, after=after is not None)
        rows = self._run(query, [*(after or []), limit + 1])
        more = len(rows) > limit
        records = [self._record(columns, row) for row in rows[:limit]]
        if rows[:limit]:
            last = rows[:limit][-1]
            position: dict[str, Any] = {"k": _pack(last[0])}
            if self.modified:
                position["m"] = _pack(last[1])
            cursor = json.dumps(position)
        if not self.modified and not more:
            cursor = None  # a whole-table pass is over: the next run reads it again
        return ChangePage(records=records, cursor=cursor, more=more)

    def find(self, field_name: str, value: Value) -> list[ExternalRecord]:
        """Rows whose `field_name` equals `value`, compared by the database (so with the
        column's collation: MySQL's usual ones ignore case)."""
        if field_name not in self.fields:
            return []
        columns = self._selected()
        column = self.dialect.q(field_name)
        if value is None:
            where, params = self.dialect.text("{c} IS NULL", c=column), []
        else:
            where, params = self.dialect.text("{c} = %s", c=column), [str(value)]
        query = self.dialect.select(columns, self.key, None, after=False, where=where)
        rows = self._run(query, [*params, 10_000])
        return [self._record(columns, row) for row in rows]

    # --- writing -----------------------------------------------------------------------------
    def upsert(self, records: Sequence[OutboundRecord]) -> list[str]:
        keys = [r.key if r.key is not None else uuid.uuid4().hex for r in records]
        # Rows writing the same columns share a statement; a record leaves unmentioned columns as
        # they are, and fields that are not mapped columns are not written.
        groups: dict[tuple[str, ...], list[list[Any]]] = {}
        for key, record in zip(keys, records, strict=True):
            columns = tuple(c for c in self.writable if c in record.fields)
            groups.setdefault(columns, []).append([key, *(record.fields[c] for c in columns)])
        if not records:
            return keys
        try:
            with self._errors(), self.dialect.transaction(self._connection()):
                cursor = self._conn.cursor()
                try:
                    for columns, rows in groups.items():
                        query, per_row = self.dialect.upsert(
                            self.key, columns, self.modified, len(rows)
                        )
                        if per_row:
                            cursor.executemany(query, rows)
                        else:
                            cursor.execute(query, [v for row in rows for v in row])
                finally:
                    cursor.close()
        except ConnectorError as exc:
            raise self._explained(exc, records) from None
        return keys

    def _explained(
        self, error: ConnectorError, records: Sequence[OutboundRecord]
    ) -> ConnectorError:
        """The batch's error, saying that none of it was written; PostgreSQL says a value is too
        long without naming its column, so the column is found."""
        if type(error) is not ConnectorError:  # a connection, permission or settings problem
            return error
        message = error.message
        if isinstance(self.dialect, Postgres) and "value too long" in message:
            query, params = self.dialect.column_lengths()
            limits = dict(self._run(query, params))
            too_long = sorted(
                {
                    c
                    for r in records
                    for c, v in r.fields.items()
                    if c in limits and isinstance(v, str) and len(v) > limits[c]
                }
            )
            if too_long:
                detail = ", ".join(f"{c!r} (at most {limits[c]} characters)" for c in too_long)
                message = f"A value is too long for the column {detail}."
        return ConnectorError(f"{message} Nothing of the batch was written.")

    def delete(self, keys: Sequence[str]) -> None:
        if keys:
            self._run(self.dialect.delete(self.key, len(keys)), list(keys))
