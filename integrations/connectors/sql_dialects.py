"""PostgreSQL and MySQL/MariaDB for the SQL connector: how to connect to one resolved address, how
to word each statement with safely quoted identifiers, and how to explain each driver error.

Identifiers reach this module already validated (word characters only, see `sql.identifier`) and
are still quoted: `psycopg.sql.Identifier` for PostgreSQL, backticks for MySQL. Values only ever
travel as driver parameters."""

from __future__ import annotations

import contextlib
import socket
import ssl
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import psycopg
import pymysql  # type: ignore[import-untyped]
from psycopg import sql

from .base import ConnectorAuthError, ConnectorConfigError, ConnectorError, ConnectorUnavailable

# libpq falls back to ~/.pgpass (and PGPASSWORD) when no password is given; a path that cannot
# exist keeps this server's own database passwords from ever being offered to a client's server.
_NO_PASSFILE = "/dev/null/no-passfile"

REFUSED = "The database refused the user or password."


class MissingTable(ConnectorConfigError):
    """The table (or its schema) does not exist."""


@dataclass(frozen=True)
class Target:
    """Where to connect, parsed from the connection URL (see `sql.parse_url`)."""

    engine: str  # "postgresql" | "mysql"
    host: str
    port: int
    user: str
    password: str
    database: str
    tls: str  # PostgreSQL: an sslmode; MySQL: disabled | preferred | required | verify_ca | …


@dataclass(frozen=True)
class Table:
    schema: str | None
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


class Dialect(ABC):
    label: ClassVar[str]
    default_port: ClassVar[int]
    tls_modes: ClassVar[tuple[str, ...]]
    # MySQL column names are case-insensitive; PostgreSQL's quoted ones are not.
    columns_ignore_case: ClassVar[bool] = False

    def __init__(self, target: Target, table: Table) -> None:
        self.target, self.table = target, table

    # --- connections -------------------------------------------------------------------------
    @abstractmethod
    def connect(self, address: str, *, connect_timeout: int, statement_timeout: int) -> Any: ...

    @abstractmethod
    def transaction(self, conn: Any) -> contextlib.AbstractContextManager[None]: ...

    @abstractmethod
    def error(self, exc: BaseException, *, connecting: bool = False) -> ConnectorError | None:
        """The connector error for a driver error (None: not one of this driver's)."""

    def unreachable(self) -> ConnectorUnavailable:
        return ConnectorUnavailable(
            f"The database server {self.target.host}:{self.target.port} cannot be reached; check "
            "the host, the port and that it accepts connections from our servers."
        )

    def no_database(self) -> ConnectorConfigError:
        return ConnectorConfigError(
            f"The database {self.target.database!r} does not exist on the server."
        )

    # --- statements --------------------------------------------------------------------------
    @abstractmethod
    def q(self, name: str) -> Any:
        """One quoted identifier."""

    @abstractmethod
    def join(self, parts: Sequence[Any], sep: str = ", ") -> Any: ...

    @abstractmethod
    def text(self, template: str, **parts: Any) -> Any:
        """A statement from a template whose `{name}` slots take quoted parts."""

    def quoted_table(self) -> Any:
        return self.q(self.table.name)

    def probe(self) -> Any:
        return self.text("SELECT * FROM {t} WHERE 1 = 0", t=self.quoted_table())

    def has_null(self, column: str) -> Any:
        return self.text(
            "SELECT 1 FROM {t} WHERE {c} IS NULL LIMIT 1", t=self.quoted_table(), c=self.q(column)
        )

    @abstractmethod
    def create_table(self, key: str, columns: Sequence[str], modified: str | None) -> list[Any]: ...

    @abstractmethod
    def key_is_unique(self, key: str) -> tuple[Any, list[Any]]: ...

    @abstractmethod
    def after(self, key: str, modified: str | None) -> Any:
        """The keyset condition: rows after the cursor's (modified, key) or key."""

    def after_params(self, key: Any, modified: Any) -> list[Any]:
        return [modified, key]

    def select(
        self,
        columns: Sequence[str],
        key: str,
        modified: str | None,
        *,
        after: bool,
        where: Any = None,
    ) -> Any:
        conditions = [self.text("{m} IS NOT NULL", m=self.q(modified))] if modified else []
        if after:
            conditions.append(self.after(key, modified))
        if where is not None:
            conditions.append(where)
        order = [self.q(modified), self.q(key)] if modified else [self.q(key)]
        return self.text(
            "SELECT {cols} FROM {t}{where} ORDER BY {order} LIMIT %s",
            cols=self.join([self.q(c) for c in columns]),
            t=self.quoted_table(),
            where=self.text(" WHERE ") + self.join(conditions, " AND ") if conditions else "",
            order=self.join(order),
        )

    @abstractmethod
    def upsert(
        self, key: str, columns: Sequence[str], modified: str | None, rows: int
    ) -> tuple[Any, bool]:
        """The statement writing `rows` rows of (key, *columns); True when it takes one row's
        parameters at a time (executemany), False when it takes all rows' at once."""

    def delete(self, key: str, count: int) -> Any:
        return self.text(
            "DELETE FROM {t} WHERE {k} IN ({params})",
            t=self.quoted_table(),
            k=self.q(key),
            params=self.join([self.text("%s")] * count),
        )


class Postgres(Dialect):
    label = "PostgreSQL"
    default_port = 5432
    tls_modes = ("disable", "allow", "prefer", "require", "verify-full")

    def connect(self, address: str, *, connect_timeout: int, statement_timeout: int) -> Any:
        t = self.target
        params: dict[str, Any] = {
            "host": t.host,  # for TLS verification; the connection goes to hostaddr alone
            "hostaddr": address,
            "port": t.port,
            "dbname": t.database,
            "user": t.user,
            "password": t.password,
            "passfile": _NO_PASSFILE,
            "connect_timeout": connect_timeout,
            "sslmode": t.tls,
            "gssencmode": "disable",
            "application_name": "contact-sync",
            "options": f"-c statement_timeout={statement_timeout * 1000} -c TimeZone=UTC",
        }
        if t.tls == "verify-full" and psycopg.pq.version() >= 160000:
            params["sslrootcert"] = "system"  # the operating system's certificate authorities
        return psycopg.connect(autocommit=True, **params)

    def transaction(self, conn: Any) -> contextlib.AbstractContextManager[None]:
        return conn.transaction()  # type: ignore[no-any-return]

    def error(self, exc: BaseException, *, connecting: bool = False) -> ConnectorError | None:
        if not isinstance(exc, psycopg.Error):
            return None
        if connecting:
            # libpq reports refusals at connection time as text only (no SQLSTATE).
            text = str(exc)
            if any(
                s in text
                for s in (
                    "password authentication failed",
                    "no password supplied",
                    "no pg_hba.conf entry",
                    'role "',
                )
            ):
                return ConnectorAuthError(REFUSED)
            if 'database "' in text and "does not exist" in text:
                return self.no_database()
            if "SSL" in text or "certificate" in text:
                detail = text.rsplit("failed: ", 1)[-1].strip()
                return ConnectorConfigError(f"The encrypted (TLS) connection failed: {detail}")
            if "permission denied for database" in text:
                return ConnectorAuthError(
                    f"The database user may not connect to {self.target.database!r}."
                )
            return self.unreachable()
        state = exc.sqlstate or ""
        message = exc.diag.message_primary or str(exc)
        if state == "42P01":
            return MissingTable(f"The table {self.table} does not exist.")
        if state == "3F000":
            return ConnectorConfigError(f"The schema {self.table.schema} does not exist.")
        if state == "42703":
            return ConnectorConfigError(f"A mapped column does not exist: {message}.")
        if state == "42501":
            return ConnectorAuthError(f"The database user lacks a permission: {message}.")
        if state == "42P10":
            return ConnectorConfigError("The key column must be the table's primary key or unique.")
        if state == "57014":
            return ConnectorUnavailable("The database took too long to answer.")
        if state[:2] in ("08", "40", "53", "55", "57") or (
            not state and isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
        ):
            return ConnectorUnavailable(f"The database connection failed: {message}.")
        return ConnectorError(f"The database refused the data: {message}.")

    def q(self, name: str) -> Any:
        return sql.Identifier(name)

    def join(self, parts: Sequence[Any], sep: str = ", ") -> Any:
        return sql.SQL(sep).join(parts)

    def text(self, template: str, **parts: Any) -> Any:
        return sql.SQL(template).format(
            **{k: sql.SQL(v) if isinstance(v, str) else v for k, v in parts.items()}
        )

    def quoted_table(self) -> Any:
        if self.table.schema:
            return sql.Identifier(self.table.schema, self.table.name)
        return sql.Identifier(self.table.name)

    def create_table(self, key: str, columns: Sequence[str], modified: str | None) -> list[Any]:
        defs = [self.text("{k} TEXT PRIMARY KEY", k=self.q(key))]
        defs += [self.text("{c} TEXT", c=self.q(c)) for c in columns]
        statements = []
        if modified:
            defs.append(self.text("{m} TIMESTAMPTZ NOT NULL DEFAULT now()", m=self.q(modified)))
        statements.append(
            self.text(
                "CREATE TABLE IF NOT EXISTS {t} ({defs})",
                t=self.quoted_table(),
                defs=self.join(defs),
            )
        )
        if modified:
            statements.append(
                self.text(
                    "CREATE INDEX IF NOT EXISTS {i} ON {t} ({m}, {k})",
                    i=self.q(f"{self.table.name[:48]}_modified_idx"),
                    t=self.quoted_table(),
                    m=self.q(modified),
                    k=self.q(key),
                )
            )
        return statements

    def key_is_unique(self, key: str) -> tuple[Any, list[Any]]:
        query = sql.SQL(
            "SELECT count(*) FROM pg_index i JOIN pg_attribute a"
            " ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
            " WHERE i.indrelid = to_regclass(%s) AND i.indisunique AND i.indnkeyatts = 1"
            " AND i.indpred IS NULL AND a.attname = %s"
        )
        name = ".".join(f'"{part}"' for part in (self.table.schema, self.table.name) if part)
        return query, [name, key]

    def after(self, key: str, modified: str | None) -> Any:
        if modified:
            return self.text("({m}, {k}) > (%s, %s)", m=self.q(modified), k=self.q(key))
        return self.text("{k} > %s", k=self.q(key))

    def upsert(
        self, key: str, columns: Sequence[str], modified: str | None, rows: int
    ) -> tuple[Any, bool]:
        names = [self.q(key)] + [self.q(c) for c in columns]
        values = [self.text("%s")] * (1 + len(columns))
        sets = [self.text("{c} = EXCLUDED.{c}", c=self.q(c)) for c in columns]
        if modified:
            names.append(self.q(modified))
            values.append(self.text("now()"))
            sets.append(self.text("{m} = now()", m=self.q(modified)))
        action = self.text("DO UPDATE SET ") + self.join(sets) if sets else "DO NOTHING"
        query = self.text(
            "INSERT INTO {t} ({names}) VALUES ({values}) ON CONFLICT ({k}) {action}",
            t=self.quoted_table(),
            names=self.join(names),
            values=self.join(values),
            k=self.q(key),
            action=action,
        )
        return query, True

    def column_lengths(self) -> tuple[Any, list[Any]]:
        query = sql.SQL(
            "SELECT column_name, character_maximum_length FROM information_schema.columns"
            " WHERE table_schema = coalesce(%s, current_schema()) AND table_name = %s"
            " AND character_maximum_length IS NOT NULL"
        )
        return query, [self.table.schema, self.table.name]


class MySQL(Dialect):
    label = "MySQL/MariaDB"
    default_port = 3306
    tls_modes = ("disabled", "preferred", "required", "verify_ca", "verify_identity")
    columns_ignore_case = True

    # UTC sessions (TIMESTAMP columns and CURRENT_TIMESTAMP read as UTC), and strict writes so a
    # value too long for its column fails the batch instead of being cut short.
    INIT = (
        "SET time_zone = '+00:00', sql_mode = IF(@@SESSION.sql_mode = '', 'STRICT_ALL_TABLES',"
        " CONCAT(@@SESSION.sql_mode, ',STRICT_ALL_TABLES'))"
    )

    def _tls(self) -> dict[str, Any]:
        mode = self.target.tls
        if mode == "disabled":
            return {"ssl_disabled": True}
        if mode == "preferred":
            return {}  # PyMySQL's default: TLS when the server offers it, unverified
        if mode == "required":
            return {"ssl": {"check_hostname": False, "verify_mode": False}}
        context = ssl.create_default_context()
        context.check_hostname = mode == "verify_identity"
        return {"ssl": context}

    def connect(self, address: str, *, connect_timeout: int, statement_timeout: int) -> Any:
        t = self.target
        conn = pymysql.connect(
            host=t.host,  # for TLS verification; the socket below goes to `address` alone
            port=t.port,
            user=t.user,
            password=t.password,
            database=t.database,
            charset="utf8mb4",
            connect_timeout=connect_timeout,
            read_timeout=statement_timeout,
            write_timeout=statement_timeout,
            autocommit=True,
            local_infile=False,
            init_command=self.INIT,
            defer_connect=True,
            **self._tls(),
        )
        try:
            sock = socket.create_connection((address, t.port), timeout=connect_timeout)
        except OSError:
            raise self.unreachable() from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        conn.connect(sock)
        return conn

    @contextlib.contextmanager
    def transaction(self, conn: Any) -> Iterator[None]:
        conn.begin()
        try:
            yield
        except BaseException:
            with contextlib.suppress(pymysql.Error, OSError):
                conn.rollback()
            raise
        conn.commit()

    def error(self, exc: BaseException, *, connecting: bool = False) -> ConnectorError | None:
        if isinstance(exc, pymysql.err.InterfaceError):
            return ConnectorUnavailable("The database connection was lost.")
        if not isinstance(exc, pymysql.Error):
            return None
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
        message = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
        if code == 1045:
            return ConnectorAuthError(REFUSED)
        if code == 1044:
            return ConnectorAuthError(
                f"The database user may not use the database {self.target.database!r}."
            )
        if code == 1130:
            return ConnectorAuthError(
                "The database server does not accept this user from our servers."
            )
        if code == 2026 or (connecting and ("SSL" in message or "certificate" in message)):
            return ConnectorConfigError("The encrypted (TLS) connection to the database failed.")
        if code == 1049:
            return self.no_database()
        if code == 1146:
            return MissingTable(f"The table {self.table} does not exist.")
        if code == 1054:
            return ConnectorConfigError(f"A mapped column does not exist: {message}.")
        if code in (1142, 1143, 1227):
            return ConnectorAuthError(f"The database user lacks a permission: {message}.")
        if code in (1969, 3024):
            return ConnectorUnavailable("The database took too long to answer.")
        if connecting or code in (1040, 1203, 1205, 1213) or code >= 2000:
            return (
                self.unreachable()
                if connecting
                else ConnectorUnavailable(f"The database connection failed: {message}.")
            )
        return ConnectorError(f"The database refused the data: {message}.")

    def q(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def join(self, parts: Sequence[Any], sep: str = ", ") -> str:
        return sep.join(parts)

    def text(self, template: str, **parts: Any) -> str:
        return template.format(**parts) if parts else template

    def create_table(self, key: str, columns: Sequence[str], modified: str | None) -> list[Any]:
        defs = [f"{self.q(key)} VARCHAR(64) NOT NULL PRIMARY KEY"]
        defs += [f"{self.q(c)} TEXT NULL" for c in columns]
        if modified:
            m = self.q(modified)
            defs.append(
                f"{m} DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"
                " ON UPDATE CURRENT_TIMESTAMP(6)"
            )
            defs.append(f"KEY `sync_modified` ({m}, {self.q(key)})")
        body = ", ".join(defs)
        return [
            f"CREATE TABLE IF NOT EXISTS {self.quoted_table()} ({body}) DEFAULT CHARSET=utf8mb4"
        ]

    def key_is_unique(self, key: str) -> tuple[Any, list[Any]]:
        query = (
            "SELECT count(*) FROM information_schema.STATISTICS s"
            " WHERE s.TABLE_SCHEMA = DATABASE() AND s.TABLE_NAME = %s AND s.NON_UNIQUE = 0"
            " AND s.COLUMN_NAME = %s AND (SELECT count(*) FROM information_schema.STATISTICS o"
            " WHERE o.TABLE_SCHEMA = s.TABLE_SCHEMA AND o.TABLE_NAME = s.TABLE_NAME"
            " AND o.INDEX_NAME = s.INDEX_NAME) = 1"
        )
        return query, [self.table.name, key]

    def after(self, key: str, modified: str | None) -> Any:
        if modified:  # spelled out: MySQL uses an index for this more readily than for a row
            return f"({self.q(modified)} > %s OR ({self.q(modified)} = %s AND {self.q(key)} > %s))"
        return f"{self.q(key)} > %s"

    def after_params(self, key: Any, modified: Any) -> list[Any]:
        return [modified, modified, key]

    def upsert(
        self, key: str, columns: Sequence[str], modified: str | None, rows: int
    ) -> tuple[Any, bool]:
        names = [self.q(key)] + [self.q(c) for c in columns]
        row = ["%s"] * (1 + len(columns))
        sets = [f"{self.q(c)} = VALUES({self.q(c)})" for c in columns]
        if modified:
            names.append(self.q(modified))
            row.append("CURRENT_TIMESTAMP(6)")
            sets.append(f"{self.q(modified)} = CURRENT_TIMESTAMP(6)")
        if not sets:
            sets = [f"{self.q(key)} = {self.q(key)}"]
        values = ", ".join(["(" + ", ".join(row) + ")"] * rows)
        query = (  # identifiers validated and quoted; values are parameters
            f"INSERT INTO {self.quoted_table()} ({', '.join(names)}) VALUES {values}"  # noqa: S608
            f" ON DUPLICATE KEY UPDATE {', '.join(sets)}"
        )
        return query, False


def dialect_for(target: Target, table: Table) -> Dialect:
    return Postgres(target, table) if target.engine == "postgresql" else MySQL(target, table)
