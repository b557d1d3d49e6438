"""The one small interface every external system is reached through.

A connector knows one kind of system (a Google Sheet, an Airtable table, a SQL table, an HTTPS
endpoint) and speaks that system's own API; it knows nothing of GHL, of field mappings or of
conflict policies — `integrations.connectors.engine` does that work above it. Records cross the
interface as plain values keyed by the *external* system's field (column) names.

Each connector:
* is built from a `ConnectorSettings` (non-secret config, decrypted credentials, the external
  fields the mapping uses);
* `validate()`s its settings before they are saved (shape, and the SSRF guard on any URL or host,
  which resolves names but contacts nothing);
* `prepare_credentials()` completes credentials before they are stored (a generated secret);
* `check()`s, over the network, that the credentials, the target and every mapped field work;
* pages through `changes(cursor)` (records changed since the cursor; `None` = from the start);
* `upsert()`s a batch (records without a key are created and get one) and `delete()`s by key.

Failures are `ConnectorError`s whose message is written for the person who set the connection
up ("The sheet has no header row", "Airtable refused the token"); `retryable` ones (timeouts,
5xx, rate limits past the connector's own bounded backoff) fail the run without counting against
the connection as a configuration problem would."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

Value = str | int | float | bool | None


class ConnectorError(Exception):
    """A failure to show on the connection, in words for the person who owns it."""

    retryable: ClassVar[bool] = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConnectorConfigError(ConnectorError):
    """The settings cannot work: a missing column, no header row, a refused URL, bad JSON."""


class ConnectorAuthError(ConnectorError):
    """The system refused the credentials (or they lack a permission the connection needs)."""


class ConnectorUnavailable(ConnectorError):
    """The system is down, slow or rate limiting past the connector's own retries."""

    retryable = True


@dataclass(frozen=True)
class ExternalRecord:
    """One row as the external system holds it."""

    key: str
    fields: dict[str, Value]
    # The system's own last-modified time of the row, when it keeps one (Airtable, a SQL
    # `updated_at` column, the HTTPS endpoint's `updated_at`); None where it does not (Sheets).
    modified_at: datetime | None = None


@dataclass(frozen=True)
class OutboundRecord:
    """A row to write: `key` None creates it."""

    key: str | None
    fields: dict[str, Value]


@dataclass(frozen=True)
class ChangePage:
    records: list[ExternalRecord]
    # The cursor to pass to the next `changes` call (store it once the page is applied).
    cursor: str | None
    # Another page is waiting now (call `changes(cursor)` again in this run).
    more: bool = False
    # Keys known to be deleted since the previous cursor, where the system can tell.
    deleted: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ConnectorSettings:
    # Non-secret settings of the kind (sheet id and tab, base and table, table name, URL, …).
    config: Mapping[str, Any]
    # Secrets, decrypted only for the run (tokens, passwords, service-account JSON).
    credentials: Mapping[str, Any]
    # The external fields the mapping reads and writes (columns, Airtable fields, JSON keys).
    fields: Sequence[str]


class Connector:
    """Base class of the connectors; see the module docstring for the contract."""

    kind: ClassVar[str]
    label: ClassVar[str]
    # The largest batch `upsert` / `delete` take in one call.
    batch_size: ClassVar[int] = 100

    def __init__(self, settings: ConnectorSettings) -> None:
        self.settings = settings

    @classmethod
    def validate(cls, config: Mapping[str, Any], credentials: Mapping[str, Any]) -> None:
        """Refuse settings that cannot work, without contacting the system."""

    @classmethod
    def prepare_credentials(cls, credentials: Mapping[str, Any]) -> dict[str, Any]:
        """The credentials to store (a kind may add what it generates itself)."""
        return dict(credentials)

    def check(self) -> None:
        """Prove, over the network, that the credentials, target and mapped fields work."""
        raise NotImplementedError

    def changes(self, cursor: str | None, *, limit: int = 500) -> ChangePage:
        raise NotImplementedError

    def upsert(self, records: Sequence[OutboundRecord]) -> list[str]:
        """Write the records; returns their keys, in order (new ones included)."""
        raise NotImplementedError

    def delete(self, keys: Sequence[str]) -> None:
        raise NotImplementedError

    def find(self, field_name: str, value: Value) -> list[ExternalRecord]:
        """Rows whose `field_name` equals `value` (for erasure by e-mail address). The default
        pages through every change from the start."""
        found, cursor = [], None
        while True:
            page = self.changes(cursor)
            found += [r for r in page.records if r.fields.get(field_name) == value]
            if not page.more:
                return found
            cursor = page.cursor

    def close(self) -> None:
        """Release connections (called once the run is over)."""

    def __enter__(self) -> Connector:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


_registry: dict[str, type[Connector]] = {}


def register(kind: str, label: str) -> Callable[[type[Connector]], type[Connector]]:
    def decorate(cls: type[Connector]) -> type[Connector]:
        cls.kind, cls.label = kind, label
        _registry[kind] = cls
        return cls

    return decorate


def connector_class(kind: str) -> type[Connector]:
    try:
        return _registry[kind]
    except KeyError:
        raise ConnectorConfigError(f"Unknown kind of connection: {kind!r}.") from None


def connector_kinds() -> list[tuple[str, str]]:
    return sorted((kind, cls.label) for kind, cls in _registry.items())
