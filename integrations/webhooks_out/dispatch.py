"""From the tenant event outbox to deliveries: which events anyone wants, the set-based fan-out
of committed events to the endpoints subscribed to them, and the SQL with which the mirror writer
publishes its changes in the statement that makes them."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.db.models import Q, Subquery

from tenants.models import Location, TenantEvent

from . import catalog
from .models import WebhookDelivery, WebhookEndpoint

FAN_OUT_BATCH = 500


def endpoints_want(location_id: int, event_type: str) -> bool:
    """Whether an enabled endpoint of the location (or of its whole agency) takes `event_type`."""
    agency = Location.objects.unscoped().filter(pk=location_id).values("agency_id")
    return (
        WebhookEndpoint.objects.unscoped()
        .filter(
            Q(location_id=location_id) | Q(location__isnull=True, agency_id=Subquery(agency)),
            enabled=True,
            event_types__contains=[event_type],
        )
        .exists()
    )


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


def mirror_events_sql(*, kind: str, location_id: int, source: str) -> tuple[str, dict[str, Any]]:
    """Extra CTEs for the mirror writer's upsert (whose CTE `written` returns the written rows
    and `inserted`), inserting one outbox row per changed record that an endpoint wants, or
    ("", {}) when none does. `source` is the writer's staged rows (alias `s`)."""
    events = _q(TenantEvent._meta.db_table)
    columns = f"INSERT INTO {events} (id, location_id, type, data, created_at)"
    if kind == "contact":
        wanted = {
            "ev_created": endpoints_want(location_id, catalog.CONTACT_CREATED),
            "ev_updated": endpoints_want(location_id, catalog.CONTACT_UPDATED),
        }
        if not any(wanted.values()):
            return "", {}
        sql = f""", published AS (
            {columns}
            SELECT gen_random_uuid(), w.location_id,
                   CASE WHEN w.inserted THEN '{catalog.CONTACT_CREATED}'
                        ELSE '{catalog.CONTACT_UPDATED}' END,
                   jsonb_build_object('contact', {_object("w", _CONTACT_FIELDS)}),
                   statement_timestamp()
            FROM written w
            WHERE (w.inserted AND %(ev_created)s) OR (NOT w.inserted AND %(ev_updated)s)
        )"""  # noqa: S608 — identifiers from the models, values bound
        return sql, wanted
    if kind == "opportunity":
        if not endpoints_want(location_id, catalog.OPPORTUNITY_STAGE_CHANGED):
            return "", {}
        from integrations.mirror.models import MirrorOpportunity

        table = _q(MirrorOpportunity._meta.db_table)
        # `before` reads the statement's snapshot: the stages as they were before this write.
        sql = f""", before AS (
            SELECT o.ghl_id, o.stage_ghl_id FROM {table} o
            WHERE o.location_id = %(ev_location)s
              AND o.ghl_id IN (SELECT s.ghl_id FROM {source})
        ), published AS (
            {columns}
            SELECT gen_random_uuid(), w.location_id, '{catalog.OPPORTUNITY_STAGE_CHANGED}',
                   jsonb_build_object('opportunity', {_object("w", _OPPORTUNITY_FIELDS)}
                       || jsonb_build_object('stage_id', w.stage_ghl_id,
                                             'previous_stage_id', b.stage_ghl_id)),
                   statement_timestamp()
            FROM written w JOIN before b ON b.ghl_id = w.ghl_id
            WHERE NOT w.inserted AND b.stage_ghl_id IS DISTINCT FROM w.stage_ghl_id
        )"""  # noqa: S608 — identifiers from the models, values bound
        return sql, {"ev_location": location_id}
    return "", {}
