"""Billing's API resources (read-only): the agency's plans for its clients, and its clients'
subscriptions. Stripe's ids and the platform's fee never leave; a location key sees its own
location's subscriptions and the plans it could buy."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers

from saas_platform.kernel.api.params import QueryFilter, SparseFieldsMixin
from tenants.api.viewsets import ApiTenant, TenantScopedViewSet

from ..models import Plan, Subscription


class PlanSerializer(SparseFieldsMixin, serializers.ModelSerializer[Plan]):
    class Meta:
        model = Plan
        fields = [
            "id",
            "name",
            "amount",
            "currency",
            "interval",
            "trial_days",
            "entitlements",
            "active",
            "created_at",
        ]
        read_only_fields = fields


class SubscriptionSerializer(SparseFieldsMixin, serializers.ModelSerializer[Subscription]):
    location_id = serializers.IntegerField(read_only=True)
    plan_id = serializers.IntegerField(allow_null=True, read_only=True)

    class Meta:
        model = Subscription
        fields = [
            "id",
            "location_id",
            "plan_id",
            "status",
            "current_period_end",
            "trial_end",
            "cancel_at_period_end",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


PLAN_EXAMPLE = {
    "id": 3,
    "name": "Growth",
    "amount": 9900,
    "currency": "usd",
    "interval": "month",
    "trial_days": 14,
    "entitlements": {"seats": 5},
    "active": True,
    "created_at": "2026-01-05T09:30:00Z",
}
SUBSCRIPTION_EXAMPLE = {
    "id": 88,
    "location_id": 42,
    "plan_id": 3,
    "status": "active",
    "current_period_end": "2026-03-01T00:00:00Z",
    "trial_end": None,
    "cancel_at_period_end": False,
    "created_at": "2026-02-01T00:00:00Z",
    "updated_at": "2026-02-01T00:00:00Z",
}


@extend_schema_view(
    list=extend_schema(
        summary="List the agency's plans",
        examples=[OpenApiExample("A plan", value=PLAN_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="Get a plan",
        examples=[OpenApiExample("A plan", value=PLAN_EXAMPLE, response_only=True)],
    ),
)
class PlanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Plans the agency sells to its clients (amounts in the currency's minor unit). Needs
    `plans:read`."""

    resource = "plans"
    serializer_class = PlanSerializer
    default_ordering = "amount"
    ordering_fields = {"amount": "amount", "name": "name", "created_at": "created_at"}
    filters = {"active": QueryFilter("active", kind="boolean", description="On sale or not.")}

    def scoped_queryset(self, tenant: ApiTenant) -> QuerySet[Plan]:
        return Plan.objects.for_agency(tenant.agency)


def _location_in_tenant(view: Any, value: int) -> int:
    return int(view.tenant.location_from_id(value).pk)


@extend_schema_view(
    list=extend_schema(
        summary="List the clients' subscriptions",
        examples=[OpenApiExample("A subscription", value=SUBSCRIPTION_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="Get a subscription",
        examples=[OpenApiExample("A subscription", value=SUBSCRIPTION_EXAMPLE, response_only=True)],
    ),
)
class SubscriptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Needs `subscriptions:read`; a location key sees its own location's only."""

    resource = "subscriptions"
    serializer_class = SubscriptionSerializer
    default_ordering = "-created_at"
    ordering_fields = {"created_at": "created_at"}
    filters = {
        "location": QueryFilter(
            "location_id",
            kind="integer",
            description="Only this location's.",
            resolve=_location_in_tenant,
        ),
        "status": QueryFilter("status", description="e.g. active, trialing, past_due."),
    }

    def scoped_queryset(self, tenant: ApiTenant) -> QuerySet[Subscription]:
        subscriptions = Subscription.objects.for_agency(tenant.agency)
        if tenant.location is not None:
            subscriptions = subscriptions.filter(location=tenant.location)
        return subscriptions
