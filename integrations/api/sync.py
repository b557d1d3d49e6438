"""``/api/v1/locations/{location_id}/sync/connections/``: a location's connections to external
systems (list/get; their credentials, settings and cursors are never returned), each one's runs,
and **sync now** (POST ``.../connections/{id}/sync/``, queued through
``connection_sync_now``; a run already going on is not doubled)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from integrations.connectors.models import ExternalConnection, ExternalSyncRun
from integrations.connectors.services import connection_sync_now
from saas_platform.kernel.api.params import QueryFilter, SparseFieldsMixin
from saas_platform.kernel.api.schema import ErrorEnvelopeSerializer
from saas_platform.kernel.errors import ApplicationError, NotEntitled, NotFound
from tenants.api.viewsets import ApiTenant

from .nested import LocationNestedViewSet, accepted, refused


class ConnectionSerializer(SparseFieldsMixin, serializers.ModelSerializer[ExternalConnection]):
    # Declared, not derived: the model's labels name the CRM, which the API never does.
    direction = serializers.ChoiceField(
        choices=[
            ("two_way", "Both ways"),
            ("to_external", "From the CRM to the external system only"),
            ("from_external", "From the external system to the CRM only"),
        ],
        read_only=True,
    )

    class Meta:
        model = ExternalConnection
        # An allow-list: never credentials, config, mapping, cursors or error texts.
        fields = [
            "id",
            "name",
            "kind",
            "direction",
            "match_on",
            "interval_minutes",
            "status",
            "consecutive_failures",
            "last_run_at",
            "next_run_at",
            "created_at",
        ]
        read_only_fields = fields


class RunSerializer(SparseFieldsMixin, serializers.ModelSerializer[ExternalSyncRun]):
    connection_id = serializers.IntegerField(read_only=True)
    to_crm = serializers.IntegerField(source="to_ghl", read_only=True)
    created_in_crm = serializers.IntegerField(source="created_in_ghl", read_only=True)

    class Meta:
        model = ExternalSyncRun
        fields = [
            "id",
            "connection_id",
            "trigger",
            "status",
            "started_at",
            "finished_at",
            "phase",
            "done",
            "total",
            "pulled",
            "to_crm",
            "to_external",
            "created_in_crm",
            "created_external",
            "deleted_external",
            "conflicts",
        ]
        read_only_fields = fields


class QueuedSerializer(serializers.Serializer[Any]):
    queued = serializers.BooleanField()
    connection_id = serializers.IntegerField()


CONNECTION_EXAMPLE = {
    "id": 12,
    "name": "Leads sheet",
    "kind": "google_sheets",
    "direction": "two_way",
    "match_on": "email",
    "interval_minutes": 15,
    "status": "active",
    "consecutive_failures": 0,
    "last_run_at": "2026-02-01T10:00:00Z",
    "next_run_at": "2026-02-01T10:15:00Z",
    "created_at": "2026-01-20T08:00:00Z",
}
RUN_EXAMPLE = {
    "id": 501,
    "connection_id": 12,
    "trigger": "manual",
    "status": "succeeded",
    "started_at": "2026-02-01T10:00:00Z",
    "finished_at": "2026-02-01T10:00:09Z",
    "phase": "",
    "done": 240,
    "total": 240,
    "pulled": 240,
    "to_crm": 12,
    "to_external": 3,
    "created_in_crm": 4,
    "created_external": 1,
    "deleted_external": 0,
    "conflicts": 0,
}


@extend_schema_view(
    list=extend_schema(
        summary="List a location's sync connections",
        examples=[OpenApiExample("A connection", value=CONNECTION_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="Get a sync connection",
        examples=[OpenApiExample("A connection", value=CONNECTION_EXAMPLE, response_only=True)],
    ),
    sync=extend_schema(
        summary="Sync now: queue a run of the connection",
        request=None,
        responses={202: QueuedSerializer, 422: ErrorEnvelopeSerializer},
        examples=[
            OpenApiExample(
                "Queued", value={"queued": True, "connection_id": 12}, response_only=True
            )
        ],
    ),
)
class ConnectionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, LocationNestedViewSet):
    """Reads need `sync:read`; sync now `sync:write`."""

    resource = "sync"
    serializer_class = ConnectionSerializer
    lookup_url_kwarg = "connection_id"
    default_ordering = "name"
    ordering_fields = {"name": "name", "last_run_at": "last_run_at"}
    filters = {
        "status": QueryFilter("status", description="active, paused or disabled."),
        "kind": QueryFilter("kind", description="The external system's kind."),
    }

    def scoped_queryset(self, tenant: ApiTenant) -> QuerySet[ExternalConnection]:
        return ExternalConnection.objects.for_location(self.location())

    @action(detail=True, methods=["post"])
    def sync(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        connection = self.get_object()
        try:
            connection_sync_now(connection=connection)
        except NotEntitled:
            raise  # a 403 naming the plan
        except ApplicationError as exc:
            raise refused(exc) from exc
        return accepted({"queued": True, "connection_id": connection.pk})


def _connection_in_location(view: Any, value: int) -> int:
    connections = ExternalConnection.objects.for_location(view.location())
    connection = connections.filter(pk=value).first()
    if connection is None:
        raise NotFound("No such connection.")
    return int(connection.pk)


@extend_schema_view(
    list=extend_schema(
        summary="List a location's sync runs, newest first",
        examples=[OpenApiExample("A run", value=RUN_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="Get a sync run",
        examples=[OpenApiExample("A run", value=RUN_EXAMPLE, response_only=True)],
    ),
)
class SyncRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, LocationNestedViewSet):
    """Needs `sync:read`."""

    resource = "sync"
    serializer_class = RunSerializer
    lookup_url_kwarg = "run_id"
    default_ordering = "-started_at"
    ordering_fields = {"started_at": "started_at"}
    filters = {
        "connection": QueryFilter(
            "connection_id",
            kind="integer",
            description="Only this connection's runs (a connection of the location).",
            resolve=_connection_in_location,
        ),
        "status": QueryFilter("status", description="running, succeeded or failed."),
        "since": QueryFilter("started_at__gte", kind="datetime", description="From this time."),
    }

    def scoped_queryset(self, tenant: ApiTenant) -> QuerySet[ExternalSyncRun]:
        return ExternalSyncRun.objects.for_location(self.location())
