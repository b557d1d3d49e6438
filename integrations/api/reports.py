"""``/api/v1/locations/{location_id}/reports/dashboard/`` (a location's dashboard figures as
JSON) and ``/api/v1/reports/dashboard/`` (the agency's, agency-wide keys only): the same figures
as the portal's dashboards (``integrations.reporting.selectors``), for a date range of at most
a year (default: the last 30 days)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from integrations.reporting.figures import Dashboard, Filters
from integrations.reporting.selectors import dashboard_agency, dashboard_location
from saas_platform.kernel.api.errors import UnknownParameter
from tenants.api.viewsets import ApiTenant
from tenants.entitlements import feature_require
from tenants.models import Location

from .nested import LocationNestedViewSet

MAX_DAYS = 366
PARAMS = ("date_from", "date_to", "source", "pipeline", "agent")
MONEY: dict[str, Any] = {"max_digits": 16, "decimal_places": 2, "coerce_to_string": True}


class DayLeadsSerializer(serializers.Serializer[Any]):
    day = serializers.DateField()
    leads = serializers.IntegerField()


class SourceLeadsSerializer(serializers.Serializer[Any]):
    source = serializers.CharField()  # type: ignore[assignment]
    leads = serializers.IntegerField()


class StageValueSerializer(serializers.Serializer[Any]):
    pipeline = serializers.CharField()
    stage = serializers.CharField()
    opportunities = serializers.IntegerField()
    value = serializers.DecimalField(**MONEY)


class WinRateSerializer(serializers.Serializer[Any]):
    opened = serializers.IntegerField()
    won = serializers.IntegerField()
    lost = serializers.IntegerField()
    won_value = serializers.DecimalField(**MONEY)
    lost_value = serializers.DecimalField(**MONEY)
    rate = serializers.FloatField(allow_null=True)


class SpeedSerializer(serializers.Serializer[Any]):
    leads = serializers.IntegerField()
    assigned = serializers.IntegerField()
    responded = serializers.IntegerField()
    responded_5m = serializers.IntegerField()
    avg_assign_seconds = serializers.FloatField(allow_null=True)
    avg_respond_seconds = serializers.FloatField(allow_null=True)
    fast_share = serializers.FloatField(allow_null=True)


class DayAppointmentsSerializer(serializers.Serializer[Any]):
    day = serializers.DateField()
    booked = serializers.IntegerField()
    showed = serializers.IntegerField()
    no_show = serializers.IntegerField()
    cancelled = serializers.IntegerField()


class AppointmentsSerializer(serializers.Serializer[Any]):
    booked = serializers.IntegerField()
    showed = serializers.IntegerField()
    no_show = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    show_rate = serializers.FloatField(allow_null=True)
    by_day = DayAppointmentsSerializer(many=True)


class AgentRowSerializer(serializers.Serializer[Any]):
    agent = serializers.CharField(help_text="The user id.")
    name = serializers.CharField()
    leads = serializers.IntegerField()
    responded = serializers.IntegerField()
    won = serializers.IntegerField()
    won_value = serializers.DecimalField(**MONEY)
    appointments = serializers.IntegerField()
    showed = serializers.IntegerField()
    avg_respond_seconds = serializers.FloatField(allow_null=True)


class RoutingRowSerializer(serializers.Serializer[Any]):
    agent = serializers.CharField()
    name = serializers.CharField()
    assigned = serializers.IntegerField()
    fallback = serializers.IntegerField()
    unroutable = serializers.IntegerField()
    total = serializers.IntegerField()


class DashboardSerializer(serializers.Serializer[Any]):
    scope = serializers.ChoiceField(choices=["location", "agency"])
    title = serializers.CharField()
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    total_leads = serializers.IntegerField()
    leads_by_day = DayLeadsSerializer(many=True)
    leads_by_source = SourceLeadsSerializer(many=True)
    pipeline_by_stage = StageValueSerializer(many=True)
    win_rate = WinRateSerializer()
    speed_to_lead = SpeedSerializer()
    appointments = AppointmentsSerializer()
    agents = AgentRowSerializer(many=True)
    routing = RoutingRowSerializer(many=True)


DASHBOARD_EXAMPLE = {
    "scope": "location",
    "title": "Downtown Dental",
    "date_from": "2026-02-01",
    "date_to": "2026-02-02",
    "total_leads": 5,
    "leads_by_day": [{"day": "2026-02-01", "leads": 3}, {"day": "2026-02-02", "leads": 2}],
    "leads_by_source": [{"source": "website", "leads": 5}],
    "pipeline_by_stage": [
        {"pipeline": "Sales", "stage": "New", "opportunities": 4, "value": "6000.00"}
    ],
    "win_rate": {
        "opened": 5,
        "won": 1,
        "lost": 1,
        "won_value": "1500.00",
        "lost_value": "800.00",
        "rate": 0.5,
    },
    "speed_to_lead": {
        "leads": 5,
        "assigned": 5,
        "responded": 4,
        "responded_5m": 3,
        "avg_assign_seconds": 2.0,
        "avg_respond_seconds": 240.0,
        "fast_share": 0.75,
    },
    "appointments": {
        "booked": 2,
        "showed": 1,
        "no_show": 0,
        "cancelled": 0,
        "show_rate": 1.0,
        "by_day": [{"day": "2026-02-02", "booked": 2, "showed": 1, "no_show": 0, "cancelled": 0}],
    },
    "agents": [],
    "routing": [],
}
DATE_PARAMS = [
    OpenApiParameter(
        "date_from", OpenApiTypes.DATE, description="First day (default: 29 days ago)."
    ),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="Last day (default: today)."),
    OpenApiParameter("source", OpenApiTypes.STR, description="Only leads of this source."),
    OpenApiParameter("pipeline", OpenApiTypes.STR, description="Only this pipeline id."),
    OpenApiParameter("agent", OpenApiTypes.STR, description="Only this user id."),
]


def _day(request: Request, name: str, default: date) -> date:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return date.fromisoformat(raw) if len(raw) == 10 else _bad(name)
    except ValueError:
        return _bad(name)


def _bad(name: str) -> date:
    raise ValidationError({name: ["A date, YYYY-MM-DD."]})


def _text(request: Request, name: str) -> str:
    raw = request.query_params.get(name, "")
    if len(raw) > 200 or "\x00" in raw:
        raise ValidationError({name: ["At most 200 characters."]})
    return raw


def dashboard_request(request: Request, today: date) -> tuple[date, date, Filters]:
    """The date range and filters of the query string; anything else is a 400."""
    unknown = sorted(set(request.query_params) - set(PARAMS) - {"location"})
    if unknown:
        raise UnknownParameter(f"Unknown query parameter(s): {', '.join(unknown)}.")
    date_to = _day(request, "date_to", today)
    date_from = _day(request, "date_from", date_to - timedelta(days=29))
    if date_from > date_to:
        raise ValidationError({"date_from": ["Not after date_to."]})
    if (date_to - date_from).days >= MAX_DAYS:
        raise ValidationError({"date_from": [f"At most {MAX_DAYS} days at once."]})
    filters = Filters(
        source=_text(request, "source"),
        pipeline=_text(request, "pipeline"),
        agent=_text(request, "agent"),
    )
    return date_from, date_to, filters


def _answer(dashboard: Dashboard) -> Response:
    return Response(DashboardSerializer(dashboard).data)


class LocationReportViewSet(LocationNestedViewSet):
    """One location's dashboard. Needs `reports:read`."""

    resource = "reports"
    serializer_class = DashboardSerializer
    pagination_class = None  # type: ignore[assignment]
    sparse_fields = False

    @classmethod
    def schema_model(cls) -> Any:
        return Location

    def scoped_queryset(self, tenant: ApiTenant) -> QuerySet[Location]:
        return tenant.locations()

    @extend_schema(
        summary="A location's dashboard figures for a date range",
        parameters=DATE_PARAMS,
        responses={200: DashboardSerializer},
        examples=[OpenApiExample("Two days", value=DASHBOARD_EXAMPLE, response_only=True)],
    )
    def dashboard(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if "location" in request.query_params:
            raise UnknownParameter("Unknown query parameter(s): location.")
        location = self.location()
        feature_require(location=location, feature="reports")
        date_from, date_to, filters = dashboard_request(request, timezone.localdate())
        return _answer(
            dashboard_location(
                location=location, date_from=date_from, date_to=date_to, filters=filters
            )
        )


def _location_param(view: LocationNestedViewSet, request: Request) -> int | None:
    raw = request.query_params.get("location")
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise ValidationError({"location": ["A whole number."]})
    return int(view.tenant.location_from_id(raw).pk)


class AgencyReportViewSet(LocationReportViewSet):
    """The agency's dashboard over its locations, or one (`?location=`). Needs an agency-wide
    key with `reports:read`."""

    agency_keys_only = True

    @extend_schema(
        summary="The agency's dashboard figures for a date range",
        parameters=[
            *DATE_PARAMS,
            OpenApiParameter(
                "location", OpenApiTypes.INT, description="Only this location of the agency."
            ),
        ],
        responses={200: DashboardSerializer},
        examples=[OpenApiExample("Two days", value=DASHBOARD_EXAMPLE, response_only=True)],
    )
    def dashboard(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        location_id = _location_param(self, request)
        date_from, date_to, filters = dashboard_request(request, timezone.localdate())
        filters = Filters(
            location_id=location_id,
            source=filters.source,
            pipeline=filters.pipeline,
            agent=filters.agent,
        )
        return _answer(
            dashboard_agency(
                agency=self.tenant.agency, date_from=date_from, date_to=date_to, filters=filters
            )
        )
