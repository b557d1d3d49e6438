"""From GHL records (API objects or flat webhook payloads) to rows of the mirror tables.

One `Kind` per mirrored entity names its table, its columns and how a record fills them. The
writer calls `map_records`, which returns COPY-ready tuples `(ghl_id, ghl_updated_at, *columns)`
or raises `InvalidRecordsError` naming every bad record, before anything touches the database.

The change time (`ghl_updated_at`) is the record's own update time (`dateUpdated`/`updatedAt`);
failing that, the caller's `changed_at` (a webhook's event timestamp: a webhook payload carries
`dateAdded` but says nothing of when it was last changed); failing that, its creation time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models

from integrations.mirror import coerce
from integrations.mirror.coerce import FieldError
from integrations.mirror.models import (
    MirrorAppointment,
    MirrorContact,
    MirrorConversation,
    MirrorMessage,
    MirrorOpportunity,
    MirrorPipeline,
    MirrorRecord,
    MirrorUser,
)

Record = Mapping[str, Any]
Row = tuple[Any, ...]


@dataclass(frozen=True)
class RecordProblem:
    index: int  # position in the batch the caller passed
    ghl_id: str | None
    reason: str

    def __str__(self) -> str:
        return f"#{self.index} ({self.ghl_id or 'no id'}): {self.reason}"


class InvalidRecordsError(ValueError):
    """Some records of a batch cannot be mirrored; nothing of the batch was written."""

    SHOWN = 10

    def __init__(self, kind: str, problems: Sequence[RecordProblem]) -> None:
        self.kind = kind
        self.problems = list(problems)
        listed = "; ".join(str(p) for p in self.problems[: self.SHOWN])
        more = f" (+{len(self.problems) - self.SHOWN} more)" if len(problems) > self.SHOWN else ""
        super().__init__(f"{len(self.problems)} invalid {kind} record(s): {listed}{more}")


def _limits(model: type[models.Model]) -> dict[str, int]:
    """Column lengths read from the model, so a migration that widens a column widens these."""
    out: dict[str, int] = {}
    for f in model._meta.concrete_fields:
        base = getattr(f, "base_field", f)  # ArrayField: the element's length
        if base.max_length:
            out[f.name] = int(base.max_length)
    return out


Fill = Callable[[Record, dict[str, int]], Row]


@dataclass(frozen=True)
class Kind:
    """How records of one kind fill their table: `texts` are `(column, GHL key)` pairs copied as
    text, then `fill` returns the values of `extra` (everything needing more than a copy)."""

    name: str
    model: type[MirrorRecord]
    texts: tuple[tuple[str, str], ...]
    extra: tuple[str, ...] = ()
    fill: Fill | None = None
    updated_keys: tuple[str, ...] = ()
    created_keys: tuple[str, ...] = ()
    id_keys: tuple[str, ...] = ("id",)
    # Derived from the model in __post_init__: column lengths, and (GHL key, length) of `texts`.
    limits: dict[str, int] = field(init=False, default_factory=dict)
    _copied: tuple[tuple[str, int], ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        for column in self.columns:
            self.model._meta.get_field(column)  # a typo fails at import, not in a sync
        limits = _limits(self.model)
        object.__setattr__(self, "limits", limits)
        copied = tuple((key, limits[column]) for column, key in self.texts)
        object.__setattr__(self, "_copied", copied)

    @property
    def columns(self) -> tuple[str, ...]:
        """The data columns, in row order (after `ghl_id` and `ghl_updated_at`)."""
        return (*(column for column, _ in self.texts), *self.extra)

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    @property
    def json_columns(self) -> frozenset[str]:
        fields = self.model._meta.concrete_fields
        return frozenset(str(f.column) for f in fields if isinstance(f, models.JSONField))

    @property
    def db_columns(self) -> tuple[str, ...]:
        """`ghl_id`, `ghl_updated_at` and the data columns, as the database names them."""
        by_name = {f.name: str(f.column) for f in self.model._meta.concrete_fields}
        return tuple(by_name[name] for name in ("ghl_id", "ghl_updated_at", *self.columns))

    def row(self, record: Record, changed_at: datetime | None, location_ghl_id: str | None) -> Row:
        ghl_id = None
        for key in self.id_keys:
            if record.get(key) is not None:
                ghl_id = coerce.ghl_id(record[key], self.limits["ghl_id"], key)
                break
        if ghl_id is None:
            raise FieldError("id", "missing")
        owner = record.get("locationId")
        if owner and location_ghl_id and owner != location_ghl_id:
            # A record of another GHL location must never land in this location's mirror.
            raise FieldError("locationId", f"belongs to location {str(owner)[:64]!r}")
        values: list[Any] = [ghl_id, self.change_time(record, changed_at)]
        append = values.append
        for key, limit in self._copied:
            # The usual value (a short clean string) inline: a call saved per field, 14 per
            # contact, 1.4 million on a 100k batch.
            value = record.get(key)
            if type(value) is str and len(value) <= limit and "\x00" not in value:
                append(value)
            elif value is None:
                append("")
            else:
                append(coerce.text(value, limit, key))
        if self.fill is not None:
            values.extend(self.fill(record, self.limits))
        return tuple(values)

    def change_time(self, record: Record, changed_at: datetime | None) -> datetime | None:
        for key in self.updated_keys:
            if (moment := coerce.timestamp(record.get(key), key)) is not None:
                return moment
        if changed_at is not None:
            return changed_at
        for key in self.created_keys:
            if (moment := coerce.timestamp(record.get(key), key)) is not None:
                return moment
        return None


def _pairs(spec: str) -> tuple[tuple[str, str], ...]:
    """Pairs from `"column=key column=key …"`: the table below stays one line per field group."""
    return tuple((c, k) for c, _, k in (item.partition("=") for item in spec.split()))


def _contact(r: Record, n: dict[str, int]) -> Row:
    return (
        coerce.country(r.get("country"), "country"),
        coerce.flag(r.get("dnd"), "dnd"),
        coerce.tags(r.get("tags"), n["tags"]),
        coerce.flat_object_json(coerce.custom_fields(r.get("customFields")), "customFields"),
        coerce.timestamp(r.get("dateAdded"), "dateAdded"),
    )


def _user(r: Record, n: dict[str, int]) -> Row:
    roles = r.get("roles")
    # The API nests the role (`roles.role`); the UserCreate webhook has it at the top level.
    role = roles.get("role") if isinstance(roles, Mapping) else r.get("role")
    return (coerce.text(role, n["role"], "roles.role"),)


def _stages(value: Any, n: dict[str, int]) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise FieldError("stages", f"expected a list, got {type(value).__name__}")
    stages: list[dict[str, Any]] = []
    for index, stage in enumerate(value):
        if not isinstance(stage, Mapping):
            raise FieldError("stages", f"expected objects, got {type(stage).__name__}")
        position = stage.get("position")
        stages.append(
            {
                "id": coerce.text(stage.get("id"), n["ghl_id"], "stages.id"),
                "name": coerce.text(stage.get("name"), n["name"], "stages.name"),
                # GHL lists stages in board order; `position` is not always present.
                "position": index if position is None else coerce.count(position, "position"),
            }
        )
    stages.sort(key=lambda s: s["position"])  # stable: ties keep GHL's order
    return stages


def _pipeline(r: Record, n: dict[str, int]) -> Row:
    return (coerce.json_text(_stages(r.get("stages"), n), "stages"),)


def _opportunity(r: Record, n: dict[str, int]) -> Row:
    ts = coerce.timestamp
    created = r.get("createdAt") if r.get("createdAt") is not None else r.get("dateAdded")
    return (
        coerce.money(r.get("monetaryValue"), "monetaryValue"),
        ts(created, "createdAt"),
        ts(r.get("lastStatusChangeAt"), "lastStatusChangeAt"),
        ts(r.get("lastStageChangeAt"), "lastStageChangeAt"),
    )


def _appointment(r: Record, n: dict[str, int]) -> Row:
    ts = coerce.timestamp
    return (
        ts(r.get("startTime"), "startTime"),
        ts(r.get("endTime"), "endTime"),
        ts(r.get("dateAdded"), "dateAdded"),
    )


def _conversation(r: Record, n: dict[str, int]) -> Row:
    return (
        coerce.timestamp(r.get("lastMessageDate"), "lastMessageDate"),
        coerce.count(r.get("unreadCount"), "unreadCount"),
    )


def _message(r: Record, n: dict[str, int]) -> Row:
    return (coerce.timestamp(r.get("dateAdded"), "dateAdded"),)


_UPDATED, _ADDED = ("dateUpdated",), ("dateAdded",)
_PERSON = "first_name=firstName last_name=lastName email=email phone=phone"
KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "contact",
            MirrorContact,
            _pairs(
                f"{_PERSON} company_name=companyName source=source contact_type=type "
                "assigned_to=assignedTo address1=address1 city=city state=state "
                "postal_code=postalCode timezone=timezone"
            ),
            ("country", "dnd", "tags", "custom_fields", "date_added"),
            _contact,
            updated_keys=_UPDATED,
            created_keys=_ADDED,
        ),
        Kind("user", MirrorUser, _pairs(_PERSON), ("role",), _user),
        Kind("pipeline", MirrorPipeline, _pairs("name=name"), ("stages",), _pipeline),
        Kind(
            "opportunity",
            MirrorOpportunity,
            _pairs(
                "name=name contact_ghl_id=contactId pipeline_ghl_id=pipelineId "
                "stage_ghl_id=pipelineStageId status=status assigned_to=assignedTo source=source"
            ),
            ("monetary_value", "ghl_created_at", "last_status_change_at", "last_stage_change_at"),
            _opportunity,
            updated_keys=("updatedAt", "dateUpdated"),
            created_keys=("createdAt", "dateAdded"),
        ),
        Kind(
            "appointment",
            MirrorAppointment,
            _pairs(
                "calendar_ghl_id=calendarId contact_ghl_id=contactId "
                "assigned_user_ghl_id=assignedUserId title=title status=appointmentStatus"
            ),
            ("start_time", "end_time", "ghl_created_at"),
            _appointment,
            updated_keys=_UPDATED,
            created_keys=_ADDED,
        ),
        Kind(
            "conversation",
            MirrorConversation,
            _pairs("contact_ghl_id=contactId last_message_type=lastMessageType"),
            ("last_message_at", "unread_count"),
            _conversation,
            updated_keys=_UPDATED,
            created_keys=_ADDED,
        ),
        Kind(
            "message",
            MirrorMessage,
            _pairs(
                "conversation_ghl_id=conversationId contact_ghl_id=contactId "
                "message_type=messageType direction=direction status=status user_ghl_id=userId"
            ),
            ("date_added",),
            _message,
            created_keys=_ADDED,
            # Message webhooks (InboundMessage/OutboundMessage) name the message `messageId`.
            id_keys=("id", "messageId"),
        ),
    )
}


def kind_of(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown mirror kind {name!r}; one of {', '.join(KINDS)}") from None


@dataclass(frozen=True)
class Mapped:
    # `(ghl_id, ghl_updated_at, *kind.columns)` in input order; JSON columns as JSON text
    rows: list[Row]
    deleted: set[int]  # rows whose record GHL marks `deleted: true` (users, conversations)


def map_records(
    kind: str,
    records: Sequence[Record],
    *,
    changed_at: datetime | Sequence[datetime | None] | None = None,
    location_ghl_id: str | None = None,
) -> Mapped:
    """Map a batch, or raise `InvalidRecordsError` listing every record that cannot be mapped.
    Records naming another GHL location (when `location_ghl_id` is given) are invalid.
    `changed_at` is one time for every record, or one per record (webhooks of a batch)."""
    spec = kind_of(kind)
    each = _per_record(changed_at, len(records))
    mapped = Mapped([], set())
    problems: list[RecordProblem] = []
    for index, record in enumerate(records):
        try:
            if type(record) is not dict and not isinstance(record, Mapping):
                raise FieldError("record", f"expected an object, got {type(record).__name__}")
            row = spec.row(record, each[index], location_ghl_id)
            gone = record.get("deleted")
            if gone is not None and gone is not False and coerce.flag(gone, "deleted"):
                mapped.deleted.add(index)
            mapped.rows.append(row)
        except FieldError as exc:
            raw_id = record.get("id") if isinstance(record, Mapping) else None
            shown_id = raw_id if isinstance(raw_id, str) else None
            problems.append(RecordProblem(index, shown_id, str(exc)))
    if problems:
        raise InvalidRecordsError(kind, problems)
    return mapped


def _per_record(
    changed_at: datetime | Sequence[datetime | None] | None, count: int
) -> Sequence[datetime | None]:
    if changed_at is None or isinstance(changed_at, datetime):
        each: Sequence[datetime | None] = [changed_at]
    elif len(changed_at) != count:
        raise ValueError("changed_at must give one time per record")
    else:
        each = changed_at
    if any(moment is not None and moment.tzinfo is None for moment in each):
        raise ValueError("changed_at must be timezone-aware")
    return each if len(each) == count else [each[0]] * count


def map_record(kind: str, record: Record, *, changed_at: datetime | None = None) -> dict[str, Any]:
    """One record as `{column: value}` (JSON columns as JSON text): for tests and debugging."""
    (row,) = map_records(kind, [record], changed_at=changed_at).rows
    return dict(zip(("ghl_id", "ghl_updated_at", *kind_of(kind).columns), row, strict=True))
