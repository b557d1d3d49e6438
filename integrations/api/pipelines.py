"""``/api/v1/locations/{location_id}/pipelines/`` and ``.../opportunities/``: read from the
mirror; moving an opportunity to another stage is written through to the CRM by the pipeline
board's own service (``integrations.portal.board.opportunity_move``), mirrored on success.

Public ids are the CRM's ids. An opportunity of another location, or a stage outside its
pipeline, is a 404 like a missing one."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from integrations.mirror.models import MirrorOpportunity, MirrorPipeline
from integrations.portal.board import opportunity_move
from saas_platform.kernel.api.params import QueryFilter, SparseFieldsMixin, StrictInputMixin
from saas_platform.kernel.api.schema import ErrorEnvelopeSerializer
from saas_platform.kernel.errors import ApplicationError, NotFound
from tenants.api.viewsets import ApiTenant

from .nested import LocationNestedViewSet, refused


class StageSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    name = serializers.CharField()


class PipelineSerializer(SparseFieldsMixin, serializers.ModelSerializer[MirrorPipeline]):
    id = serializers.CharField(source="ghl_id", read_only=True)
    stages = serializers.SerializerMethodField()

    class Meta:
        model = MirrorPipeline
        fields = ["id", "name", "stages"]
        read_only_fields = fields

    @extend_schema_field(StageSerializer(many=True))
    def get_stages(self, pipeline: MirrorPipeline) -> list[dict[str, str]]:
        # Only the id and name of each stage, whatever else the mirror keeps.
        return [
            {"id": str(stage.get("id", "")), "name": str(stage.get("name", ""))}
            for stage in pipeline.stages or []
            if isinstance(stage, dict)
        ]


class OpportunitySerializer(SparseFieldsMixin, serializers.ModelSerializer[MirrorOpportunity]):
    id = serializers.CharField(source="ghl_id", read_only=True)
    contact_id = serializers.CharField(source="contact_ghl_id", read_only=True)
    pipeline_id = serializers.CharField(source="pipeline_ghl_id", read_only=True)
    stage_id = serializers.CharField(source="stage_ghl_id", read_only=True)
    assigned_to = serializers.CharField(read_only=True, help_text="The assigned user's id.")
    created_at = serializers.DateTimeField(source="ghl_created_at", read_only=True, allow_null=True)
    updated_at = serializers.DateTimeField(source="ghl_updated_at", read_only=True, allow_null=True)

    class Meta:
        model = MirrorOpportunity
        fields = [
            "id",
            "name",
            "contact_id",
            "pipeline_id",
            "stage_id",
            "status",
            "monetary_value",
            "assigned_to",
            "source",
            "created_at",
            "updated_at",
            "last_stage_change_at",
            "last_status_change_at",
        ]
        read_only_fields = fields


class MoveSerializer(StrictInputMixin, serializers.Serializer[Any]):
    stage_id = serializers.CharField(
        max_length=64, help_text="A stage of the opportunity's own pipeline."
    )


PIPELINE_EXAMPLE = {
    "id": "VDm7RPYC2GLUvdpKmBfC",
    "name": "Sales",
    "stages": [{"id": "st-new", "name": "New lead"}, {"id": "st-won", "name": "Won"}],
}
OPPORTUNITY_EXAMPLE = {
    "id": "yWQobCRIhRguQtD2llvk",
    "name": "Maya Haddad",
    "contact_id": "pLkQ1xV7aZ3nR8sT2wYb",
    "pipeline_id": "VDm7RPYC2GLUvdpKmBfC",
    "stage_id": "st-new",
    "status": "open",
    "monetary_value": "1500.00",
    "assigned_to": "u-4kd8",
    "source": "website",
    "created_at": "2026-02-01T10:00:00Z",
    "updated_at": "2026-02-02T09:00:00Z",
    "last_stage_change_at": "2026-02-02T09:00:00Z",
    "last_status_change_at": None,
}


@extend_schema_view(
    list=extend_schema(
        summary="List a location's pipelines and their stages",
        examples=[OpenApiExample("A pipeline", value=PIPELINE_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="Get a pipeline",
        examples=[OpenApiExample("A pipeline", value=PIPELINE_EXAMPLE, response_only=True)],
    ),
)
class PipelineViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, LocationNestedViewSet):
    """A location's pipelines (read-only here). Needs `pipelines:read`."""

    resource = "pipelines"
    serializer_class = PipelineSerializer
    lookup_field = "ghl_id"
    lookup_url_kwarg = "pipeline_id"
    default_ordering = "name"
    ordering_fields = {"name": "name"}
    filters = {"name": QueryFilter("name__icontains", description="Part of the name, any case.")}

    def scoped_queryset(self, tenant: ApiTenant) -> QuerySet[MirrorPipeline]:
        return MirrorPipeline.objects.for_location(self.location())


def _pipeline_in_location(view: Any, value: str) -> str:
    if not MirrorPipeline.objects.for_location(view.location()).filter(ghl_id=value).exists():
        raise NotFound("No such pipeline.")
    return value


@extend_schema_view(
    list=extend_schema(
        summary="List a location's opportunities",
        examples=[OpenApiExample("An opportunity", value=OPPORTUNITY_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="Get an opportunity",
        examples=[OpenApiExample("An opportunity", value=OPPORTUNITY_EXAMPLE, response_only=True)],
    ),
    move=extend_schema(
        summary="Move an opportunity to another stage of its pipeline",
        request=MoveSerializer,
        responses={200: OpportunitySerializer, 422: ErrorEnvelopeSerializer},
        examples=[
            OpenApiExample("To Won", value={"stage_id": "st-won"}, request_only=True),
            OpenApiExample("Moved", value=OPPORTUNITY_EXAMPLE, response_only=True),
        ],
    ),
)
class OpportunityViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, LocationNestedViewSet):
    """A location's opportunities. Reads need `opportunities:read`; a move needs
    `opportunities:write`, reaches the CRM first and changes nothing here when it refuses."""

    resource = "opportunities"
    serializer_class = OpportunitySerializer
    lookup_field = "ghl_id"
    lookup_url_kwarg = "opportunity_id"
    default_ordering = "-pk"
    ordering_fields = {
        "created_at": "ghl_created_at",
        "updated_at": "ghl_updated_at",
        "monetary_value": "monetary_value",
    }
    filters = {
        "pipeline_id": QueryFilter(
            "pipeline_ghl_id",
            description="Only this pipeline's (a pipeline of the location).",
            resolve=_pipeline_in_location,
            max_length=64,
        ),
        "stage_id": QueryFilter("stage_ghl_id", description="Only this stage's.", max_length=64),
        "status": QueryFilter("status", description="open, won, lost or abandoned."),
        "assigned_to": QueryFilter(
            "assigned_to", description="Only this user id's.", max_length=64
        ),
        "contact_id": QueryFilter(
            "contact_ghl_id", description="Only this contact's.", max_length=64
        ),
    }

    def scoped_queryset(self, tenant: ApiTenant) -> QuerySet[MirrorOpportunity]:
        return MirrorOpportunity.objects.for_location(self.location())

    @action(detail=True, methods=["post"])
    def move(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        opportunity = self.get_object()
        mover = MoveSerializer(data=request.data)
        mover.is_valid(raise_exception=True)
        try:
            moved = opportunity_move(
                location=self.location(),
                opportunity_ghl_id=opportunity.ghl_id,
                stage_id=mover.validated_data["stage_id"],
                acting_user=None,
            )
        except NotFound:
            raise
        except ApplicationError as exc:
            raise refused(exc) from exc
        return Response(OpportunitySerializer(moved).data)
