"""``/api/v1/locations/{location_id}/appointments/``: list and get from the mirror (filters by
calendar, contact, status and start-time range); **book** with POST, through the portal's own
booking service (``integrations.portal.booking.appointment_book``): the contact and calendar
must be the location's (else 404), a past time or the CRM's refusal (the slot was taken) is a
422 and nothing is stored."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from integrations.mirror.models import MirrorAppointment
from integrations.portal.booking import appointment_book
from saas_platform.kernel.api.params import QueryFilter, SparseFieldsMixin, StrictInputMixin
from saas_platform.kernel.api.schema import ErrorEnvelopeSerializer
from saas_platform.kernel.errors import ApplicationError, NotFound
from tenants.api.viewsets import ApiTenant

from .nested import LocationNestedViewSet, refused


class AppointmentSerializer(SparseFieldsMixin, serializers.ModelSerializer[MirrorAppointment]):
    id = serializers.CharField(source="ghl_id", read_only=True)
    calendar_id = serializers.CharField(source="calendar_ghl_id", read_only=True)
    contact_id = serializers.CharField(source="contact_ghl_id", read_only=True)
    assigned_to = serializers.CharField(source="assigned_user_ghl_id", read_only=True)
    created_at = serializers.DateTimeField(source="ghl_created_at", read_only=True, allow_null=True)

    class Meta:
        model = MirrorAppointment
        fields = [
            "id",
            "calendar_id",
            "contact_id",
            "assigned_to",
            "title",
            "status",
            "start_time",
            "end_time",
            "created_at",
        ]
        read_only_fields = fields


class BookingSerializer(StrictInputMixin, serializers.Serializer[Any]):
    calendar_id = serializers.CharField(max_length=64, help_text="A calendar of the location.")
    contact_id = serializers.CharField(max_length=64, help_text="A contact of the location.")
    start_time = serializers.DateTimeField(
        help_text="A free slot's start, ISO 8601 with a time zone."
    )


APPOINTMENT_EXAMPLE = {
    "id": "0TkCdp9PfvLeWKYRRvIz",
    "calendar_id": "cal-consult",
    "contact_id": "pLkQ1xV7aZ3nR8sT2wYb",
    "assigned_to": "u-4kd8",
    "title": "Consultation: Maya Haddad",
    "status": "confirmed",
    "start_time": "2026-03-02T10:00:00Z",
    "end_time": "2026-03-02T10:30:00Z",
    "created_at": "2026-02-20T08:12:00Z",
}
BOOKING_EXAMPLE = {
    "calendar_id": "cal-consult",
    "contact_id": "pLkQ1xV7aZ3nR8sT2wYb",
    "start_time": "2026-03-02T10:00:00+00:00",
}


@extend_schema_view(
    list=extend_schema(
        summary="List a location's appointments",
        examples=[OpenApiExample("An appointment", value=APPOINTMENT_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="Get an appointment",
        examples=[OpenApiExample("An appointment", value=APPOINTMENT_EXAMPLE, response_only=True)],
    ),
    create=extend_schema(
        summary="Book an appointment in a free slot",
        request=BookingSerializer,
        responses={201: AppointmentSerializer, 422: ErrorEnvelopeSerializer},
        examples=[
            OpenApiExample("Book", value=BOOKING_EXAMPLE, request_only=True),
            OpenApiExample("Booked", value=APPOINTMENT_EXAMPLE, response_only=True),
        ],
    ),
)
class AppointmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, LocationNestedViewSet):
    """A location's appointments. Reads need `appointments:read`, booking
    `appointments:write`."""

    resource = "appointments"
    serializer_class = AppointmentSerializer
    lookup_field = "ghl_id"
    lookup_url_kwarg = "appointment_id"
    default_ordering = "-pk"
    ordering_fields = {"start_time": "start_time"}
    filters = {
        "calendar_id": QueryFilter(
            "calendar_ghl_id", description="Only this calendar's.", max_length=64
        ),
        "contact_id": QueryFilter(
            "contact_ghl_id", description="Only this contact's.", max_length=64
        ),
        "status": QueryFilter("status", description="e.g. confirmed, showed, noshow, cancelled."),
        "starts_after": QueryFilter(
            "start_time__gte", kind="datetime", description="Starting at or after this time."
        ),
        "starts_before": QueryFilter(
            "start_time__lt", kind="datetime", description="Starting before this time."
        ),
    }

    def scoped_queryset(self, tenant: ApiTenant) -> QuerySet[MirrorAppointment]:
        return MirrorAppointment.objects.for_location(self.location())

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        location = self.location()
        booking = BookingSerializer(data=request.data)
        booking.is_valid(raise_exception=True)
        data = booking.validated_data
        try:
            appointment = appointment_book(
                location=location,
                calendar_id=data["calendar_id"],
                contact_ghl_id=data["contact_id"],
                start=data["start_time"],
                acting_user=None,
            )
        except NotFound:
            raise
        except ApplicationError as exc:
            raise refused(exc) from exc
        return Response(AppointmentSerializer(appointment).data, status=status.HTTP_201_CREATED)
