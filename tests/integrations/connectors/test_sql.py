"""The SQL connector against real engines: PostgreSQL (a scratch database of this module, dropped
after) and MariaDB (scratch tables with unique names in `test`; skipped when it is unreachable)."""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
import pymysql  # type: ignore[import-untyped]
import pytest
from psycopg import sql as pgsql

from integrations.connectors.base import (
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorError,
    ConnectorSettings,
    ConnectorUnavailable,
    OutboundRecord,
    connector_class,
)
from integrations.connectors.sql import SqlConnector, parse_url
from integrations.connectors.sql_dialects import MySQL, Table

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
ALLOWED = ["127.0.0.1/32:5432", "127.0.0.1/32:3306"]
SECRET = "Pa55-w0rd-XYZZY-never-shown"


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    name = f"helper_sql_target_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name)))
    yield name
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(
            pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(name))
        )


@pytest.fixture(scope="module")
def mariadb() -> None:
    try:
        pymysql.connect(
            host="127.0.0.1",
            port=3306,
            user="root",
            password="",
            database="test",
            connect_timeout=3,
        ).close()
    except (pymysql.Error, OSError) as exc:
        pytest.skip(f"MariaDB is not reachable at 127.0.0.1:3306 as root ({exc}); CI runs these")


@dataclass
class Engine:
    name: str  # "postgresql" | "mysql"
    url: str
    admin: Any
    tables: list[str] = field(default_factory=list)
    connectors: list[SqlConnector] = field(default_factory=list)

    def run(self, statement: str, params: Any = None, **names: str) -> list[tuple[Any, ...]]:
        """Run a statement of the test's own as the admin; `{t}` and the like stand for names
        the test made up (a table, a schema)."""
        for slot, name in names.items():
            statement = statement.replace("{" + slot + "}", name)
        cursor = self.admin.cursor()
        cursor.execute(statement, params)
        rows = list(cursor.fetchall()) if cursor.description else []
        cursor.close()
        return rows

    def table(self, ddl: str | None = None) -> str:
        """A fresh table name (created from `ddl`, where `{t}` stands for it), dropped after."""
        name = f"t_{uuid.uuid4().hex[:10]}"
        self.tables.append(name)
        if ddl:
            self.run(ddl, t=name)
        return name

    def connector(
        self, table: str, fields: list[str], url: str | None = None, **config: Any
    ) -> SqlConnector:
        connector = connector_class("sql")(
            ConnectorSettings(
                config={"table": table, **config},
                credentials={"url": url or self.url},
                fields=fields,
            )
        )
        assert isinstance(connector, SqlConnector)
        self.connectors.append(connector)
        return connector

    def exists(self, table: str) -> bool:
        if self.name == "postgresql":
            return self.run("SELECT to_regclass(%s) IS NOT NULL", [table])[0][0]
        return bool(self.run("SHOW TABLES LIKE %s", [table]))


def _engine(name: str, request: pytest.FixtureRequest) -> Engine:
    if name == "postgresql":
        database = request.getfixturevalue("pg_database")
        url = f"postgresql://postgres:{SECRET}@127.0.0.1:5432/{database}"  # trust: any password
        admin = psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}", autocommit=True)
    else:
        request.getfixturevalue("mariadb")
        url = "mysql://root@127.0.0.1:3306/test"
        admin = pymysql.connect(
            host="127.0.0.1", port=3306, user="root", password="", database="test", autocommit=True
        )
    return Engine(name, url, admin)


def _clean(engine: Engine) -> None:
    for connector in engine.connectors:
        connector.close()
    for table in engine.tables:
        engine.run("DROP TABLE IF EXISTS {t}", t=table)
    engine.admin.close()


@pytest.fixture(params=["postgresql", "mysql"])
def engine(request: pytest.FixtureRequest, settings: Any) -> Iterator[Engine]:
    settings.CONNECTOR_ALLOWED_PRIVATE_TARGETS = ALLOWED
    found = _engine(request.param, request)
    yield found
    _clean(found)


@pytest.fixture
def pg_engine(request: pytest.FixtureRequest, settings: Any) -> Iterator[Engine]:
    settings.CONNECTOR_ALLOWED_PRIVATE_TARGETS = ALLOWED
    found = _engine("postgresql", request)
    yield found
    _clean(found)


def records(pairs: list[tuple[str | None, dict[str, Any]]]) -> list[OutboundRecord]:
    return [OutboundRecord(key, fields) for key, fields in pairs]


def rows_of(engine: Engine, table: str, columns: str = "id, email") -> list[tuple[Any, ...]]:
    return engine.run("SELECT {c} FROM {t} ORDER BY id", c=columns, t=table)


CONTACTS = "CREATE TABLE {t} (id VARCHAR(64) PRIMARY KEY, email VARCHAR(200), name TEXT)"


# --- settings ----------------------------------------------------------------------------------
def test_the_kind_is_registered() -> None:
    assert connector_class("sql") is SqlConnector
    assert SqlConnector.label == "Your own database (PostgreSQL or MySQL/MariaDB)"


@pytest.mark.parametrize(
    ("url", "engine_name", "port", "tls"),
    [
        ("postgresql://u:p%40ss@127.0.0.1:5432/crm", "postgresql", 5432, "prefer"),
        ("postgres://u@127.0.0.1/crm?sslmode=require", "postgresql", 5432, "require"),
        ("mysql://u:p@127.0.0.1:3306/crm?ssl=true", "mysql", 3306, "verify_identity"),
        ("mariadb://u:p@127.0.0.1/crm?ssl_mode=REQUIRED", "mysql", 3306, "required"),
    ],
)
def test_validate_accepts_supported_urls(
    settings: Any, url: str, engine_name: str, port: int, tls: str
) -> None:
    settings.CONNECTOR_ALLOWED_PRIVATE_TARGETS = ALLOWED
    SqlConnector.validate({"table": "contacts", "modified_column": "updated_at"}, {"url": url})
    target = parse_url(url)
    assert (target.engine, target.port, target.tls, target.database) == (
        engine_name,
        port,
        tls,
        "crm",
    )


def test_tls_modes_reach_the_drivers() -> None:
    assert parse_url("mysql://u@h.example/db?ssl=false").tls == "disabled"
    verified = MySQL(parse_url("mysql://u@h.example/db?ssl=true"), Table(None, "t"))._tls()["ssl"]
    assert verified.check_hostname is True
    assert parse_url("postgresql://u@h.example/db?sslmode=verify-full").tls == "verify-full"


BASE = f"postgresql://u:{SECRET}@127.0.0.1:5432/crm"


@pytest.mark.parametrize(
    ("url", "config", "fragment"),
    [
        (f"ftp://u:{SECRET}@127.0.0.1/crm", {}, "must start with"),
        (f"postgresql://u:{SECRET}@/crm", {}, "names no host"),
        (f"postgresql://u:{SECRET}@127.0.0.1:5432", {}, "names no database"),
        (f"postgresql://:{SECRET}@127.0.0.1/crm", {}, "names no user"),
        (f"postgresql://u:{SECRET}@127.0.0.1:99999/crm", {}, "cannot be read"),
        (f"{BASE}?sslmode=sometimes", {}, "TLS mode"),
        (f"{BASE}?sslrootcert=/etc/passwd", {}, "is not supported"),
        (f"mysql://u:{SECRET}@127.0.0.1/crm?ssl=maybe", {}, "true or false"),
        (BASE, {"table": "contacts; DROP TABLE x"}, "not a usable name"),
        (BASE, {"table": "x" * 64}, "not a usable name"),
        (f"mysql://u:{SECRET}@127.0.0.1/crm", {"table": "other.contacts"}, "database prefix"),
        (BASE, {"key_column": 'id" --'}, "not a usable name"),
        (BASE, {"modified_column": "updated at"}, "not a usable name"),
        (BASE, {"create_table": "yes"}, "true or false"),
        (BASE, {"table": ""}, "Name the table"),
    ],
)
def test_validate_refuses_unusable_settings(
    settings: Any, url: str, config: dict[str, Any], fragment: str
) -> None:
    settings.CONNECTOR_ALLOWED_PRIVATE_TARGETS = ALLOWED
    with pytest.raises(ConnectorConfigError) as caught:
        SqlConnector.validate({"table": "contacts", **config}, {"url": url})
    assert fragment in caught.value.message
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    "url", ["postgresql://postgres@127.0.0.1:5432/postgres", "mysql://root@127.0.0.1:3306/test"]
)
def test_loopback_is_refused_without_the_allowlist(settings: Any, url: str) -> None:
    settings.CONNECTOR_ALLOWED_PRIVATE_TARGETS = []
    with pytest.raises(ConnectorConfigError, match="private or reserved address"):
        SqlConnector.validate({"table": "contacts"}, {"url": url})
    connector = SqlConnector(ConnectorSettings({"table": "contacts"}, {"url": url}, ["email"]))
    with pytest.raises(ConnectorConfigError, match="private or reserved address"):
        connector.check()
    assert connector._conn is None  # never connected


# --- check -------------------------------------------------------------------------------------
def test_check_creates_the_table(engine: Engine) -> None:
    table = engine.table()
    fields = ["email", "first_name"]
    connector = engine.connector(table, fields, create_table=True, modified_column="updated_at")
    connector.check()
    connector.check()  # now it exists
    keys = connector.upsert(records([(None, {"email": "a@x.io", "first_name": "Ann"})]))
    page = connector.changes(None)
    [record] = page.records
    assert record.key == keys[0] and re.fullmatch(r"[0-9a-f]{32}", record.key)
    assert record.fields == {"email": "a@x.io", "first_name": "Ann"}
    assert isinstance(record.modified_at, datetime) and record.modified_at.tzinfo is not None
    # Another connector over the existing table, as the user might set one up by hand.
    engine.connector(table, ["first_name"], modified_column="updated_at").check()


def test_check_without_create_table_names_the_missing_table(engine: Engine) -> None:
    table = engine.table()
    with pytest.raises(ConnectorConfigError) as caught:
        engine.connector(table, ["email"]).check()
    assert table in caught.value.message and "create" in caught.value.message
    assert not engine.exists(table)


def test_check_names_every_missing_column(engine: Engine) -> None:
    table = engine.table(CONTACTS)
    connector = engine.connector(table, ["email", "phone", "company"], modified_column="changed")
    with pytest.raises(ConnectorConfigError) as caught:
        connector.check()
    message = caught.value.message
    assert all(f"'{c}'" in message for c in ("phone", "company", "changed"))
    assert "'email'" not in message


def test_check_refuses_a_key_that_is_not_unique(engine: Engine) -> None:
    table = engine.table("CREATE TABLE {t} (id VARCHAR(64), email TEXT)")
    with pytest.raises(ConnectorConfigError, match="primary key"):
        engine.connector(table, ["email"]).check()


def test_check_refuses_rows_without_a_modified_time(engine: Engine) -> None:
    table = engine.table("CREATE TABLE {t} (id VARCHAR(64) PRIMARY KEY, seen TIMESTAMP NULL)")
    engine.run("INSERT INTO {t} (id, seen) VALUES ('a', NULL)", t=table)
    with pytest.raises(ConnectorConfigError, match="no value in 'seen'"):
        engine.connector(table, [], modified_column="seen").check()


def test_check_refuses_a_bad_password(engine: Engine) -> None:
    # PostgreSQL here trusts every local user, so an unknown user stands for a refused login.
    url = (
        f"postgresql://nobody_{uuid.uuid4().hex[:8]}:{SECRET}@127.0.0.1:5432/postgres"
        if engine.name == "postgresql"
        else f"mysql://root:{SECRET}@127.0.0.1:3306/test"
    )
    with pytest.raises(ConnectorAuthError) as caught:
        engine.connector("contacts", ["email"], url=url).check()
    assert caught.value.message == "The database refused the user or password."
    assert SECRET not in str(caught.value)


def test_check_reports_an_unknown_database(engine: Engine) -> None:
    url = re.sub(r"/[^/]+$", "/no_such_db_x", engine.url)
    with pytest.raises(ConnectorConfigError, match="'no_such_db_x' does not exist"):
        engine.connector("contacts", ["email"], url=url).check()


def test_check_reports_an_unreachable_server(engine: Engine, settings: Any) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CONNECTOR_ALLOWED_PRIVATE_TARGETS = [f"127.0.0.1/32:{port}"]
    url = re.sub(r":\d+/", f":{port}/", engine.url)
    with pytest.raises(ConnectorUnavailable) as caught:
        engine.connector("contacts", ["email"], url=url).check()
    assert caught.value.retryable and "cannot be reached" in caught.value.message
    assert SECRET not in str(caught.value)


# --- changes -----------------------------------------------------------------------------------
def test_changes_page_by_modified_time_then_key(engine: Engine) -> None:
    table = engine.table()
    connector = engine.connector(table, ["email"], create_table=True, modified_column="updated_at")
    connector.check()
    # One batch: every row shares one modified time, so the key breaks the ties across pages.
    connector.upsert(records([(f"k{i}", {"email": f"{i}@x.io"}) for i in range(7)]))

    seen, cursor, pages = [], None, []
    while True:
        page = connector.changes(cursor, limit=3)
        pages.append((len(page.records), page.more))
        seen += [r.key for r in page.records]
        cursor = page.cursor
        if not page.more:
            break
    assert pages == [(3, True), (3, True), (1, False)]
    assert seen == [f"k{i}" for i in range(7)]
    assert cursor is not None

    idle = connector.changes(cursor, limit=3)
    assert (idle.records, idle.more, idle.cursor) == ([], False, cursor)

    connector.upsert(records([("k1", {"email": "new@x.io"})]))
    [changed] = connector.changes(cursor, limit=3).records
    assert (changed.key, changed.fields) == ("k1", {"email": "new@x.io"})


def test_changes_without_modified_column_read_everything_each_run(engine: Engine) -> None:
    table = engine.table(CONTACTS)
    connector = engine.connector(table, ["email", "name"])
    connector.check()
    connector.upsert(records([(f"k{i}", {"email": f"{i}@x.io"}) for i in (4, 1, 6, 0, 3, 5, 2)]))

    def run() -> list[str]:
        keys, cursor = [], None
        while True:
            page = connector.changes(cursor, limit=3)
            keys += [r.key for r in page.records]
            assert all(r.modified_at is None for r in page.records)
            if not page.more:
                assert page.cursor is None  # the next run starts over
                return keys
            cursor = page.cursor

    assert run() == [f"k{i}" for i in range(7)]
    assert run() == [f"k{i}" for i in range(7)]


def test_changes_give_plain_values(engine: Engine) -> None:
    stamp = "TIMESTAMP" if engine.name == "postgresql" else "DATETIME"  # both without a zone
    table = engine.table(
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, n INTEGER, price DECIMAL(8, 2),"
        f" flag BOOLEAN, seen {stamp} NULL, note TEXT)"
    )
    engine.run("INSERT INTO {t} VALUES (7, 5, 12.50, TRUE, '2024-05-01 10:00:00', NULL)", t=table)
    connector = engine.connector(table, ["n", "price", "flag", "seen", "note"])
    connector.check()
    [record] = connector.changes(None).records
    assert record.key == "7"
    assert record.fields == {
        "n": 5,
        "price": "12.50",
        "flag": True if engine.name == "postgresql" else 1,  # MySQL BOOLEAN is TINYINT(1)
        "seen": "2024-05-01T10:00:00",
        "note": None,
    }
    assert [r.key for r in connector.find("n", 5)] == ["7"]


# --- writing -----------------------------------------------------------------------------------
def test_upsert_inserts_and_updates_in_one_batch(engine: Engine) -> None:
    table = engine.table(
        "CREATE TABLE {t} (id VARCHAR(64) PRIMARY KEY, email TEXT, name TEXT, notes TEXT)"
    )
    engine.run("INSERT INTO {t} VALUES ('a', 'old@x.io', 'Old', 'keep')", t=table)
    connector = engine.connector(table, ["email", "name"])
    keys = connector.upsert(
        records(
            [
                ("a", {"email": "new@x.io"}),  # name not given: left as it is
                (None, {"email": "n@x.io", "name": "New", "notes": "not mapped"}),
                ("b", {"email": "b@x.io", "name": "Bee"}),
            ]
        )
    )
    assert keys[0] == "a" and keys[2] == "b" and re.fullmatch(r"[0-9a-f]{32}", keys[1])
    got = {r[0]: r[1:] for r in rows_of(engine, table, "id, email, name, notes")}
    assert got == {
        "a": ("new@x.io", "Old", "keep"),
        keys[1]: ("n@x.io", "New", None),
        "b": ("b@x.io", "Bee", None),
    }
    assert connector.upsert([]) == []


def test_a_failing_batch_writes_nothing(engine: Engine) -> None:
    table = engine.table("CREATE TABLE {t} (id VARCHAR(64) PRIMARY KEY, email VARCHAR(10))")
    engine.run("INSERT INTO {t} VALUES ('a', 'a@x.io')", t=table)
    connector = engine.connector(table, ["email"])
    batch = [("a", {"email": "b@x.io"}), (None, {"email": "ok@x.io"})]
    with pytest.raises(ConnectorError) as caught:
        connector.upsert(records([*batch, (None, {"email": "much-too-long@example.com"})]))
    assert type(caught.value) is ConnectorError and not caught.value.retryable
    assert "email" in caught.value.message and "too long" in caught.value.message.lower()
    assert "Nothing of the batch was written." in caught.value.message
    assert rows_of(engine, table) == [("a", "a@x.io")]
    # The connection is still good for the next batch.
    connector.upsert(records(batch))
    assert len(rows_of(engine, table)) == 2


def test_delete_removes_a_batch(engine: Engine) -> None:
    table = engine.table(CONTACTS)
    engine.run("INSERT INTO {t} (id, email) VALUES ('a', '1'), ('b', '2'), ('c', '3')", t=table)
    connector = engine.connector(table, ["email"])
    connector.delete(["a", "c", "not-there"])
    connector.delete([])
    assert rows_of(engine, table) == [("b", "2")]


NASTY = [
    "'); DROP TABLE {t}; --",
    "Robert'); DELETE FROM {t} WHERE ('1'='1",
    "` ; DROP TABLE {t}; -- `",
    '" OR 1=1 --',
    "back\\slash\\' \\\\",
    "%s %(x)s {} {0}",
    "ünïcödé ✓ 😀",
]


def test_values_cannot_inject_sql(engine: Engine) -> None:
    table = engine.table("CREATE TABLE {t} (id VARCHAR(64) PRIMARY KEY, email TEXT, name TEXT)")
    connector = engine.connector(table, ["email", "name"])
    values = [v.replace("{t}", table) for v in NASTY]
    keys = connector.upsert(
        records([(f"{v[:40]}-{i}", {"email": v, "name": v}) for i, v in enumerate(values)])
    )
    assert engine.exists(table)
    got = {r.key: r.fields for r in connector.changes(None).records}
    assert got == {k: {"email": v, "name": v} for k, v in zip(keys, values, strict=True)}
    assert [r.key for r in connector.find("email", values[0])] == [keys[0]]
    connector.delete(keys[:2])
    assert engine.exists(table) and len(connector.changes(None).records) == len(values) - 2


@pytest.mark.parametrize(
    "name",
    [
        "victim; DROP TABLE {victim}",
        "x` ; DROP TABLE {victim}; -- ",
        'x" ; DROP TABLE {victim}; -- ',
        "x' OR '1'='1",
        "x\x00",
    ],
)
def test_malicious_identifiers_are_refused(engine: Engine, name: str) -> None:
    victim = engine.table(CONTACTS)
    bad = name.format(victim=victim)
    for config in [
        {"table": bad},
        {"table": victim, "key_column": bad},
        {"table": victim, "modified_column": bad},
    ]:
        with pytest.raises(ConnectorConfigError, match="not a usable name"):
            SqlConnector.validate(config, {"url": engine.url})
        with pytest.raises(ConnectorConfigError, match="not a usable name"):
            engine.connector(config.pop("table"), ["email"], **config)
    with pytest.raises(ConnectorConfigError, match="not a usable name"):
        engine.connector(victim, ["email", bad])  # a mapped column
    assert engine.exists(victim)


def test_the_password_never_shows(engine: Engine, settings: Any) -> None:
    """Whatever fails, the messages never carry the password — even where the database quotes a
    value that happens to equal it."""
    password_url = re.sub(r"//(\w+)(:[^@]*)?@", rf"//\1:{SECRET}@", engine.url)
    caught: list[ConnectorError] = []

    def fails(action: Callable[[], object]) -> None:
        with pytest.raises(ConnectorError) as error:
            action()
        caught.append(error.value)

    fails(lambda: SqlConnector.validate({"table": "a b"}, {"url": password_url}))
    fails(lambda: SqlConnector.validate({"table": "t"}, {"url": password_url + "?x=1"}))
    fails(
        lambda: SqlConnector.validate(
            {"table": "t"}, {"url": re.sub(r":\d+/", ":port/", password_url)}
        )
    )
    if engine.name == "mysql":  # root has no password here: a password is a wrong one
        fails(engine.connector("contacts", ["email"], url=password_url).check)
    else:  # trust authentication: the password is accepted, so the database can quote it
        table = engine.table("CREATE TABLE {t} (id VARCHAR(64) PRIMARY KEY, n INTEGER)")
        connector = engine.connector(table, ["n"], url=password_url)
        fails(lambda: connector.upsert(records([(None, {"n": SECRET})])))
        assert "***" in caught[-1].message
        fails(engine.connector("missing_table", ["n"], url=password_url).check)
    settings.CONNECTOR_ALLOWED_PRIVATE_TARGETS = []
    fails(lambda: SqlConnector.validate({"table": "t"}, {"url": password_url}))
    assert len(caught) >= 5
    for error in caught:
        assert SECRET not in str(error) and SECRET not in repr(error.args), error


# --- specifics ---------------------------------------------------------------------------------
def test_postgres_schema_qualified_table(pg_engine: Engine) -> None:
    engine = pg_engine
    schema = f"s_{uuid.uuid4().hex[:8]}"
    engine.run("CREATE SCHEMA {s}", s=schema)
    try:
        connector = engine.connector(
            f"{schema}.contacts", ["email"], create_table=True, modified_column="updated_at"
        )
        connector.check()
        [key] = connector.upsert(records([(None, {"email": "s@x.io"})]))
        assert engine.run("SELECT id, email FROM {t}", t=f"{schema}.contacts") == [(key, "s@x.io")]
        assert [r.key for r in connector.changes(None).records] == [key]
        nowhere = engine.connector("no_such_schema.contacts", ["email"], create_table=True)
        with pytest.raises(ConnectorConfigError, match="schema no_such_schema does not exist"):
            nowhere.check()
    finally:
        for connector in engine.connectors:
            connector.close()
        engine.run("DROP SCHEMA {s} CASCADE", s=schema)


def test_one_connection_per_connector_closed_by_close(engine: Engine) -> None:
    table = engine.table(CONTACTS)
    connector = engine.connector(table, ["email"])
    connector.check()
    first = connector._conn
    connector.changes(None)
    connector.upsert(records([("a", {"email": "a"})]))
    assert connector._conn is first
    connector.close()
    assert connector._conn is None
    with connector:
        assert [r.key for r in connector.changes(None).records] == ["a"]
        assert connector._conn is not None and connector._conn is not first
    assert connector._conn is None


def test_sessions_are_bounded_and_in_utc(engine: Engine) -> None:
    connector = engine.connector(engine.table(CONTACTS), ["email"])
    connector.check()
    if engine.name == "postgresql":
        assert connector._run("SHOW statement_timeout") == [("30s",)]
        assert connector._run("SHOW TimeZone") == [("UTC",)]
    else:
        [(zone, mode)] = connector._run("SELECT @@SESSION.time_zone, @@SESSION.sql_mode")
        assert zone == "+00:00" and "STRICT_ALL_TABLES" in mode
        assert connector._conn._read_timeout == connector._conn._write_timeout == 30
        assert connector._conn.connect_timeout == 5


def test_connects_to_the_guarded_address_only(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host is resolved once, by the SSRF guard, and the connection goes to that address:
    here a name nothing could resolve reaches the test server only through the guard's answer."""
    asked: list[tuple[str, int]] = []

    def guard(host: str, port: int) -> str:
        asked.append((host, port))
        return "127.0.0.1"

    monkeypatch.setattr("integrations.connectors.sql.resolve_public", guard)
    table = engine.table(CONTACTS)
    url = engine.url.replace("127.0.0.1", "db.client.invalid")
    connector = engine.connector(table, ["email"], url=url)
    connector.check()
    connector.upsert(records([("a", {"email": "a@x.io"})]))
    port = 5432 if engine.name == "postgresql" else 3306
    assert asked == [("db.client.invalid", port)]  # one connection, kept


def test_required_tls_is_never_downgraded(engine: Engine) -> None:
    """Asking for TLS gets an encrypted session or a clear refusal, never a plaintext one (the
    servers here run without TLS; one with it must encrypt)."""
    table = engine.table(CONTACTS)
    option = "sslmode=require" if engine.name == "postgresql" else "ssl_mode=required"
    connector = engine.connector(table, ["email"], url=f"{engine.url}?{option}")
    try:
        connector.check()
    except ConnectorConfigError as refused:
        assert "encrypted (TLS) connection" in refused.message
        return
    if engine.name == "postgresql":
        assert connector._run("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") == [
            (True,)
        ]
    else:
        assert connector._conn._secure
