"""From the tenant event outbox to deliveries: which events anyone wants, the set-based fan-out
of committed events to the endpoints subscribed to them, and the SQL with which the mirror writer
publishes its changes in the statement that makes them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, Subquery
from django.utils import timezone

from tenants.models import Location, TenantEvent

from . import catalog
from .models import WebhookDelivery, WebhookEndpoint

FAN_OUT_BATCH = 500


def endpoints_wanted_types(location_id: int) -> set[str]:
    """The event types some enabled endpoint of the location (or of its whole agency) takes:
    one indexed query, which a write path runs once per batch."""
    agency = Location.objects.unscoped().filter(pk=location_id).values("agency_id")
    lists = (
        WebhookEndpoint.objects.unscoped()
        .filter(
            Q(location_id=location_id) | Q(location__isnull=True, agency_id=Subquery(agency)),
            enabled=True,
        )
        .values_list("event_types", flat=True)
    )
    return {event_type for types in lists for event_type in types}


def endpoints_want(location_id: int, event_type: str) -> bool:
    return event_type in endpoints_wanted_types(location_id)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def events_dispatch(*, limit: int = FAN_OUT_BATCH) -> tuple[int, int]:
    """Fan committed, not yet dispatched events out to their endpoints: one statement per batch,
    idempotent through the unique (event, endpoint). Returns (events, deliveries created)."""
    events, deliveries = _q(TenantEvent._meta.db_table), _q(WebhookDelivery._meta.db_table)
    endpoints, locations = _q(WebhookEndpoint._meta.db_table), _q(Location._meta.db_table)
    sql = f"""
        WITH batch AS (
            SELECT e.id, e.location_id, e.type FROM {events} e
            WHERE e.dispatched_at IS NULL
            ORDER BY e.created_at
            LIMIT %(limit)s
            FOR UPDATE SKIP LOCKED
        ), fanned AS (
            INSERT INTO {deliveries} (
                endpoint_id, event_id, status, attempts, next_attempt_at, created_at,
                response_excerpt, error
            )
            SELECT ep.id, b.id, 'pending', 0, now(), now(), '', ''
            FROM batch b
            JOIN {locations} l ON l.id = b.location_id
            JOIN {endpoints} ep ON ep.agency_id = l.agency_id
                 AND (ep.location_id = b.location_id OR ep.location_id IS NULL)
            WHERE ep.enabled AND ep.event_types ? b.type
            ON CONFLICT (event_id, endpoint_id) DO NOTHING
            RETURNING 1
        ), marked AS (
            UPDATE {events} e SET dispatched_at = now() FROM batch b WHERE e.id = b.id
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM marked), (SELECT count(*) FROM fanned)
    """  # noqa: S608 — identifiers from the models, values bound
    total_events = total_deliveries = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, {"limit": limit})
            marked, fanned = cursor.fetchone()
        total_events, total_deliveries = total_events + marked, total_deliveries + fanned
        if marked < limit:
            return total_events, total_deliveries


# --- the mirror's events, inside its write statement --------------------------------------------

_CONTACT_FIELDS = (
    "first_name", "last_name", "email", "phone", "company_name", "source", "assigned_to", "tags",
)  # fmt: skip
_OPPORTUNITY_FIELDS = (
    "name", "contact_ghl_id", "pipeline_ghl_id", "status", "monetary_value", "assigned_to",
)  # fmt: skip
_RENAMED = {"contact_ghl_id": "contact_id", "pipeline_ghl_id": "pipeline_id"}


def _object(alias: str, fields: tuple[str, ...]) -> str:
    pairs = ", ".join(f"'{_RENAMED.get(f, f)}', {alias}.{_q(f)}" for f in fields)
    return f"jsonb_build_object('id', {alias}.{_q('ghl_id')}, {pairs})"


def _wanted_sql(type_param: str) -> str:
    """True when an enabled endpoint of the location (or of its agency) takes the event type:
    uncorrelated, so PostgreSQL evaluates it once per statement (an InitPlan), and a write with
    no subscriber pays one index probe instead of a round trip."""
    endpoints, locations = _q(WebhookEndpoint._meta.db_table), _q(Location._meta.db_table)
    return f"""EXISTS (
        SELECT 1 FROM {endpoints} ep JOIN {locations} l ON l.agency_id = ep.agency_id
        WHERE l.id = %(ev_location)s AND ep.enabled
          AND (ep.location_id = l.id OR ep.location_id IS NULL)
          AND ep.event_types ? %({type_param})s
    )"""  # noqa: S608 — identifiers from the models, values bound


def mirror_events_sql(*, kind: str, location_id: int, source: str) -> tuple[str, dict[str, Any]]:
    """Extra CTEs for the mirror writer's upsert (whose CTE `written` returns the written rows
    and `inserted`): a CTE `published` inserting one outbox row per changed record that an
    endpoint wants, or ("", {}) for kinds that publish nothing. `source` is the writer's staged
    rows (alias `s`)."""
    events = _q(TenantEvent._meta.db_table)
    columns = f"INSERT INTO {events} (id, location_id, type, data, created_at)"
    if kind == "contact":
        params = {
            "ev_location": location_id,
            "ev_created": catalog.CONTACT_CREATED,
            "ev_updated": catalog.CONTACT_UPDATED,
        }
        sql = f""", published AS (
            {columns}
            SELECT gen_random_uuid(), w.location_id,
                   CASE WHEN w.inserted THEN %(ev_created)s ELSE %(ev_updated)s END,
                   jsonb_build_object('contact', {_object("w", _CONTACT_FIELDS)}),
                   statement_timestamp()
            FROM written w
            WHERE (w.inserted AND {_wanted_sql("ev_created")})
               OR (NOT w.inserted AND {_wanted_sql("ev_updated")})
            RETURNING 1
        )"""  # noqa: S608 — identifiers from the models, values bound
        return sql, params
    if kind == "opportunity":
        from integrations.mirror.models import MirrorOpportunity

        table = _q(MirrorOpportunity._meta.db_table)
        params = {"ev_location": location_id, "ev_stage": catalog.OPPORTUNITY_STAGE_CHANGED}
        # `before` reads the statement's snapshot: the stages as they were before this write
        # (and reads nothing at all when no endpoint wants the event).
        sql = f""", before AS (
            SELECT o.ghl_id, o.stage_ghl_id FROM {table} o
            WHERE {_wanted_sql("ev_stage")}
              AND o.location_id = %(ev_location)s
              AND o.ghl_id IN (SELECT s.ghl_id FROM {source})
        ), published AS (
            {columns}
            SELECT gen_random_uuid(), w.location_id, %(ev_stage)s,
                   jsonb_build_object('opportunity', {_object("w", _OPPORTUNITY_FIELDS)}
                       || jsonb_build_object('stage_id', w.stage_ghl_id,
                                             'previous_stage_id', b.stage_ghl_id)),
                   statement_timestamp()
            FROM written w JOIN before b ON b.ghl_id = w.ghl_id
            WHERE NOT w.inserted AND b.stage_ghl_id IS DISTINCT FROM w.stage_ghl_id
            RETURNING 1
        )"""  # noqa: S608 — identifiers from the models, values bound
        return sql, params
    return "", {}


# Events (and, by cascade, their deliveries) are kept this long for the log and replay.
RETENTION_DAYS = 30


def events_prune(*, now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - timedelta(days=RETENTION_DAYS)
    deleted, _ = TenantEvent.objects.unscoped().filter(created_at__lt=cutoff).delete()
    return deleted
