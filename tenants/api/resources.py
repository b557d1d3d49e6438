"""The tenancy core's API resources: locations (agency-wide keys) and the audit log (read)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers

from saas_platform.kernel.api.params import QueryFilter, SparseFieldsMixin

from ..models import AuditLogEntry, Location
from .viewsets import ApiTenant, TenantScopedViewSet


class LocationSerializer(SparseFieldsMixin, serializers.ModelSerializer[Location]):
    class Meta:
        model = Location
        fields = ["id", "name", "industry", "timezone", "status", "created_at", "updated_at"]
        read_only_fields = fields


LOCATION_EXAMPLE = {
    "id": 42,
    "name": "Downtown Dental",
    "industry": "health_clinic",
    "timezone": "America/New_York",
    "status": "active",
    "created_at": "2026-01-05T09:30:00Z",
    "updated_at": "2026-02-01T12:00:00Z",
}


@extend_schema_view(
    list=extend_schema(
        summary="List the agency's locations",
        examples=[OpenApiExample("A page", value=LOCATION_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="Get a location",
        examples=[OpenApiExample("A location", value=LOCATION_EXAMPLE, response_only=True)],
    ),
)
class LocationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """The agency's client locations. Needs an agency-wide key with `locations:read`."""

    resource = "locations"
    agency_keys_only = True
    serializer_class = LocationSerializer
    default_ordering = "name"
    ordering_fields = {"name": "name", "created_at": "created_at"}
    filters = {
        "status": QueryFilter("status", description="active, paused or archived."),
        "name": QueryFilter("name__icontains", description="Part of the name, any case."),
    }

    def scoped_queryset(self, tenant: ApiTenant) -> QuerySet[Location]:
        return tenant.locations()


class AuditLogEntrySerializer(SparseFieldsMixin, serializers.ModelSerializer[AuditLogEntry]):
    location_id = serializers.IntegerField(allow_null=True, read_only=True)
    actor_email = serializers.SerializerMethodField()

    class Meta:
        model = AuditLogEntry
        fields = [
            "id",
            "created_at",
            "action",
            "location_id",
            "actor_email",
            "target_type",
            "target_id",
            "target_repr",
            "changes",
        ]
        read_only_fields = fields

    def get_actor_email(self, entry: AuditLogEntry) -> str | None:
        return entry.actor.email if entry.actor is not None else None


def _location_in_tenant(view: Any, value: int) -> int:
    return int(view.tenant.location_from_id(value).pk)


AUDIT_EXAMPLE = {
    "id": 1001,
    "created_at": "2026-02-01T12:00:00Z",
    "action": "location.updated",
    "location_id": 42,
    "actor_email": "owner@agency.example",
    "target_type": "tenants.location",
    "target_id": "42",
    "target_repr": "Downtown Dental",
    "changes": {"timezone": ["UTC", "America/New_York"]},
}


@extend_schema_view(
    list=extend_schema(
        summary="List audit log entries, newest first",
        examples=[OpenApiExample("An entry", value=AUDIT_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="Get an audit log entry",
        examples=[OpenApiExample("An entry", value=AUDIT_EXAMPLE, response_only=True)],
    ),
)
class AuditLogViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Who changed what. A location key sees its location's entries only."""

    resource = "audit_log"
    serializer_class = AuditLogEntrySerializer
    default_ordering = "-created_at"
    ordering_fields = {"created_at": "created_at"}
    filters = {
        "action": QueryFilter("action", description="Dotted action name, e.g. location.updated."),
        "location": QueryFilter(
            "location_id",
            kind="integer",
            description="Only entries about this location.",
            resolve=_location_in_tenant,
        ),
        "since": QueryFilter("created_at__gte", kind="datetime", description="From this time."),
        "until": QueryFilter("created_at__lt", kind="datetime", description="Before this time."),
    }

    def scoped_queryset(self, tenant: ApiTenant) -> QuerySet[AuditLogEntry]:
        entries = AuditLogEntry.objects.for_agency(tenant.agency).select_related("actor")
        if tenant.location is not None:
            entries = entries.filter(location=tenant.location)
        return entries
