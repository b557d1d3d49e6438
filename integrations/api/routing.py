"""``/api/v1/locations/{location_id}/routing/``: rules (list/get; create/update/delete through
``integrations.routing.services``, whose refusals come back as field details), decisions
(list/get) and **route this contact** (POST ``routing/route/``), which runs the interactive
path: ``lead_assign`` (route once and write the agent to the CRM now) or, with
``"reroute": true``, ``lead_reroute`` (a new decision; the CRM write follows on commit)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from integrations.ghl.errors import GhlError, GhlRateLimited
from integrations.mirror.models import MirrorContact
from integrations.routing.assign import lead_assign, lead_reroute
from integrations.routing.models import RoutingDecision, RoutingRule, Strategy
from integrations.routing.services import rule_delete, rule_save
from saas_platform.kernel.api.errors import ApiError
from saas_platform.kernel.api.params import QueryFilter, SparseFieldsMixin, StrictInputMixin
from saas_platform.kernel.api.schema import ErrorEnvelopeSerializer
from saas_platform.kernel.errors import ApplicationError, NotEntitled, NotFound
from tenants.api.viewsets import ApiTenant

from .nested import LocationNestedViewSet

RULE_FIELDS = [
    "name",
    "enabled",
    "position",
    "strategy",
    "conditions",
    "pool",
    "fallback_pool",
    "pipeline_id",
    "stage_id",
]


class RoutingRuleSerializer(SparseFieldsMixin, serializers.ModelSerializer[RoutingRule]):
    class Meta:
        model = RoutingRule
        fields = ["id", *RULE_FIELDS, "created_at", "updated_at"]
        read_only_fields = fields


class RuleWriteSerializer(StrictInputMixin, serializers.Serializer[Any]):
    name = serializers.CharField(max_length=120)
    enabled = serializers.BooleanField(required=False)
    position = serializers.IntegerField(min_value=0, max_value=100000, required=False)
    strategy = serializers.ChoiceField(choices=Strategy.values, required=False)
    conditions = serializers.DictField(
        required=False, help_text="A condition tree; empty matches every lead."
    )
    pool = serializers.DictField(help_text='Who may get the lead, e.g. {"agents": ["u-1"]}.')
    fallback_pool = serializers.DictField(required=False)
    pipeline_id = serializers.CharField(max_length=64, required=False, allow_blank=True)
    stage_id = serializers.CharField(max_length=64, required=False, allow_blank=True)


def _field_of(message: str) -> str:
    """Which body field a routing service's refusal is about (its messages name it first)."""
    lowered = message.lower()
    for prefix, field in (
        ("a rule needs a name", "name"),
        ("unknown strategy", "strategy"),
        ("fallback pool", "fallback_pool"),
        ("pool", "pool"),
        ("name both the pipeline", "pipeline_id"),
        ("the location has no pipeline", "pipeline_id"),
        ("the pipeline", "stage_id"),
    ):
        if lowered.startswith(prefix):
            return field
    return "conditions"


def rule_refused(exc: ApplicationError) -> ApiError:
    return ApiError(
        "The rule is not valid; see details.",
        code="invalid",
        status_code=400,
        details={_field_of(exc.message): [exc.message]},
    )


class DecisionSerializer(SparseFieldsMixin, serializers.ModelSerializer[RoutingDecision]):
    contact_id = serializers.CharField(source="contact_ghl_id", read_only=True)
    rule_id = serializers.IntegerField(allow_null=True, read_only=True)
    agent_id = serializers.CharField(source="agent_ghl_id", read_only=True)
    opportunity_id = serializers.CharField(source="ghl_opportunity_id", read_only=True)
    assignment_written_at = serializers.DateTimeField(
        source="ghl_written_at", read_only=True, allow_null=True
    )
    assignment_failed = serializers.SerializerMethodField(
        help_text="The CRM refused to record the agent."
    )

    class Meta:
        model = RoutingDecision
        fields = [
            "id",
            "contact_id",
            "rule_id",
            "rule_name",
            "status",
            "agent_id",
            "strategy",
            "summary",
            "is_current",
            "created_at",
            "assignment_written_at",
            "assignment_failed",
            "opportunity_id",
        ]
        read_only_fields = fields

    def get_assignment_failed(self, decision: RoutingDecision) -> bool:
        return bool(decision.ghl_error)


class RouteSerializer(StrictInputMixin, serializers.Serializer[Any]):
    contact_id = serializers.CharField(max_length=64, help_text="A contact of the location.")
    reroute = serializers.BooleanField(
        default=False, help_text="Route again even if the contact already has a decision."
    )


RULE_EXAMPLE = {
    "id": 7,
    "name": "Dubai leads",
    "enabled": True,
    "position": 1,
    "strategy": "round_robin",
    "conditions": {"all": [{"field": "city", "op": "eq", "value": "Dubai"}]},
    "pool": {"agents": ["u-4kd8", "u-9fj2"]},
    "fallback_pool": {},
    "pipeline_id": "",
    "stage_id": "",
    "created_at": "2026-02-01T10:00:00Z",
    "updated_at": "2026-02-01T10:00:00Z",
}
RULE_WRITE_EXAMPLE = {"name": "Everyone", "pool": {"agents": ["u-4kd8"]}, "strategy": "round_robin"}
DECISION_EXAMPLE = {
    "id": 9001,
    "contact_id": "pLkQ1xV7aZ3nR8sT2wYb",
    "rule_id": 7,
    "rule_name": "Dubai leads",
    "status": "assigned",
    "agent_id": "u-4kd8",
    "strategy": "round_robin",
    "summary": "Matched “Dubai leads”; round robin chose the next agent.",
    "is_current": True,
    "created_at": "2026-02-01T10:00:01Z",
    "assignment_written_at": "2026-02-01T10:00:02Z",
    "assignment_failed": False,
    "opportunity_id": "",
}


@extend_schema_view(
    list=extend_schema(
        summary="List a location's routing rules, in the order they are tried",
        examples=[OpenApiExample("A rule", value=RULE_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="Get a routing rule",
        examples=[OpenApiExample("A rule", value=RULE_EXAMPLE, response_only=True)],
    ),
    create=extend_schema(
        summary="Create a routing rule (last unless a position is given)",
        request=RuleWriteSerializer,
        responses={201: RoutingRuleSerializer},
        examples=[
            OpenApiExample("Everyone", value=RULE_WRITE_EXAMPLE, request_only=True),
            OpenApiExample("Created", value=RULE_EXAMPLE, response_only=True),
        ],
    ),
    partial_update=extend_schema(
        summary="Update a routing rule (only the fields sent)",
        request=RuleWriteSerializer(partial=True),
        responses={200: RoutingRuleSerializer},
        examples=[OpenApiExample("Pause", value={"enabled": False}, request_only=True)],
    ),
    destroy=extend_schema(summary="Delete a routing rule", responses={204: None}),
)
class RoutingRuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, LocationNestedViewSet):
    """Reads need `routing:read`, changes `routing:write`."""

    resource = "routing"
    serializer_class = RoutingRuleSerializer
    lookup_url_kwarg = "rule_id"
    default_ordering = "position"
    ordering_fields = {"position": "position", "name": "name", "created_at": "created_at"}
    filters = {"enabled": QueryFilter("enabled", kind="boolean", description="On or off.")}

    def scoped_queryset(self, tenant: ApiTenant) -> QuerySet[RoutingRule]:
        return RoutingRule.objects.for_location(self.location())

    def _save(self, request: Request, rule: RoutingRule | None) -> RoutingRule:
        writer = RuleWriteSerializer(data=request.data, partial=rule is not None)
        writer.is_valid(raise_exception=True)
        current = {name: getattr(rule, name) for name in RULE_FIELDS} if rule else {}
        values = {**current, **writer.validated_data}
        try:
            return rule_save(
                location=self.location(),
                rule=rule,
                name=values["name"],
                pool=values["pool"],
                strategy=values.get("strategy", Strategy.ROUND_ROBIN),
                conditions=values.get("conditions") or {},
                fallback_pool=values.get("fallback_pool") or {},
                enabled=values.get("enabled", True),
                position=values.get("position"),
                pipeline_id=values.get("pipeline_id", ""),
                stage_id=values.get("stage_id", ""),
            )
        except NotEntitled:
            raise  # a 403 naming the plan, not a field of the rule
        except ApplicationError as exc:
            raise rule_refused(exc) from exc

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rule = self._save(request, None)
        return Response(RoutingRuleSerializer(rule).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rule = self._save(request, self.get_object())
        return Response(RoutingRuleSerializer(rule).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rule_delete(rule=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        summary="List a location's routing decisions, newest first",
        examples=[OpenApiExample("A decision", value=DECISION_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="Get a routing decision",
        examples=[OpenApiExample("A decision", value=DECISION_EXAMPLE, response_only=True)],
    ),
    create=extend_schema(
        summary="Route this contact now and answer the decision",
        request=RouteSerializer,
        responses={
            200: DecisionSerializer,
            502: ErrorEnvelopeSerializer,
            503: ErrorEnvelopeSerializer,
        },
        examples=[
            OpenApiExample(
                "Route", value={"contact_id": "pLkQ1xV7aZ3nR8sT2wYb"}, request_only=True
            ),
            OpenApiExample("Decided", value=DECISION_EXAMPLE, response_only=True),
        ],
    ),
)
class RoutingDecisionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, LocationNestedViewSet
):
    """Who got which lead and why. Reads need `routing:read`; routing a contact
    `routing:write`."""

    resource = "routing"
    serializer_class = DecisionSerializer
    lookup_url_kwarg = "decision_id"
    default_ordering = "-created_at"
    ordering_fields = {"created_at": "created_at"}
    filters = {
        "contact_id": QueryFilter(
            "contact_ghl_id", description="Only this contact's.", max_length=64
        ),
        "agent_id": QueryFilter("agent_ghl_id", description="Only this agent's.", max_length=64),
        "status": QueryFilter("status", description="assigned, fallback or unroutable."),
        "current": QueryFilter(
            "is_current", kind="boolean", description="Only the contacts' current decisions."
        ),
    }

    def scoped_queryset(self, tenant: ApiTenant) -> QuerySet[RoutingDecision]:
        return RoutingDecision.objects.for_location(self.location())

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        location = self.location()
        route = RouteSerializer(data=request.data)
        route.is_valid(raise_exception=True)
        contact_id = route.validated_data["contact_id"]
        if not MirrorContact.objects.for_location(location).filter(ghl_id=contact_id).exists():
            raise NotFound("No such contact.")
        try:
            if route.validated_data["reroute"]:
                decision = lead_reroute(location=location, contact_ghl_id=contact_id)
            else:
                decision = lead_assign(location=location, contact_ghl_id=contact_id)
        except GhlRateLimited as exc:
            raise ApiError(
                "The CRM is busy; retry shortly.", code="crm_busy", status_code=503, retry_after=10
            ) from exc
        except GhlError as exc:
            raise ApiError(
                "The CRM did not answer; retry later.", code="upstream_error", status_code=502
            ) from exc
        decision.refresh_from_db()
        return Response(DecisionSerializer(decision).data)
