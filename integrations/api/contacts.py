"""``/api/v1/locations/{location_id}/contacts/``: list, search and get from the mirror; create,
update and delete written through to GHL (integrations.api.contact_writes).

A contact's public ``id`` is its CRM id. The location comes from the path and is resolved within
the key's tenant (a location key reaches only its own location); ``assigned_to`` in a body must
name a user of that location: another location's user is the same 404 as a missing one.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from integrations.mirror.models import MirrorContact, MirrorUser
from saas_platform.kernel.api.errors import ApiError
from saas_platform.kernel.api.params import QueryFilter, SparseFieldsMixin, StrictInputMixin
from saas_platform.kernel.api.rows import JsonRowsListMixin
from saas_platform.kernel.api.schema import ErrorEnvelopeSerializer
from tenants.api.viewsets import ApiTenant, TenantScopedViewSet
from tenants.models import Location

from .contact_writes import (
    ContactWriteRefused,
    api_contact_create,
    api_contact_delete,
    api_contact_update,
)

# public field → GHL's field name in a contact write
WRITABLE = {
    "first_name": "firstName",
    "last_name": "lastName",
    "email": "email",
    "phone": "phone",
    "company_name": "companyName",
    "source": "source",
    "address1": "address1",
    "city": "city",
    "state": "state",
    "postal_code": "postalCode",
    "country": "country",
    "timezone": "timezone",
    "dnd": "dnd",
    "tags": "tags",
    "assigned_to": "assignedTo",
}


class ContactSerializer(SparseFieldsMixin, serializers.ModelSerializer[MirrorContact]):
    id = serializers.CharField(source="ghl_id", read_only=True)
    updated_at = serializers.DateTimeField(source="ghl_updated_at", read_only=True, allow_null=True)
    # Declared, not derived: the model's label names the CRM, which the API never does.
    assigned_to = serializers.CharField(read_only=True, help_text="The assigned user's id.")

    class Meta:
        model = MirrorContact
        fields = ["id", *WRITABLE, "date_added", "updated_at"]
        read_only_fields = fields


class ContactWriteSerializer(StrictInputMixin, serializers.Serializer[Any]):
    first_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=320, required=False, allow_blank=True)
    phone = serializers.RegexField(
        r"^\+?[0-9 ().-]{3,30}$", max_length=50, required=False, allow_blank=True
    )
    company_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    source = serializers.CharField(max_length=200, required=False, allow_blank=True)  # type: ignore[assignment]
    address1 = serializers.CharField(max_length=300, required=False, allow_blank=True)
    city = serializers.CharField(max_length=120, required=False, allow_blank=True)
    state = serializers.CharField(max_length=120, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=30, required=False, allow_blank=True)
    country = serializers.RegexField(r"^[A-Z]{2}$", required=False, allow_blank=True)
    timezone = serializers.CharField(max_length=64, required=False, allow_blank=True)
    dnd = serializers.BooleanField(required=False)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=200), max_length=50, required=False
    )
    assigned_to = serializers.CharField(
        max_length=64, required=False, allow_blank=True, help_text="A user id of the location."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.context.get("creating") and not (attrs.get("email") or attrs.get("phone")):
            raise serializers.ValidationError({"email": ["Give an email or a phone number."]})
        return attrs


CONTACT_EXAMPLE = {
    "id": "pLkQ1xV7aZ3nR8sT2wYb",
    "first_name": "Maya",
    "last_name": "Haddad",
    "email": "maya@example.com",
    "phone": "+971501234567",
    "company_name": "",
    "source": "website",
    "address1": "",
    "city": "Dubai",
    "state": "",
    "postal_code": "",
    "country": "AE",
    "timezone": "Asia/Dubai",
    "dnd": False,
    "tags": ["lead"],
    "assigned_to": "",
    "date_added": "2026-02-01T10:00:00Z",
    "updated_at": "2026-02-01T10:00:00Z",
}
CREATE_EXAMPLE = {
    "first_name": "Maya",
    "email": "maya@example.com",
    "phone": "+971501234567",
    "tags": ["lead"],
}
CRM_ERRORS = {
    409: ErrorEnvelopeSerializer,
    422: ErrorEnvelopeSerializer,
    502: ErrorEnvelopeSerializer,
    503: ErrorEnvelopeSerializer,
}


def _search(queryset: QuerySet[MirrorContact], term: str) -> QuerySet[MirrorContact]:
    return queryset.filter(
        Q(email__icontains=term)
        | Q(phone__icontains=term)
        | Q(first_name__icontains=term)
        | Q(last_name__icontains=term)
    )


def _tagged(queryset: QuerySet[MirrorContact], tag: str) -> QuerySet[MirrorContact]:
    return queryset.filter(tags__contains=[tag])


@extend_schema_view(
    list=extend_schema(
        summary="List or search a location's contacts",
        examples=[OpenApiExample("A contact", value=CONTACT_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="Get a contact",
        examples=[OpenApiExample("A contact", value=CONTACT_EXAMPLE, response_only=True)],
    ),
    create=extend_schema(
        summary="Create a contact",
        request=ContactWriteSerializer,
        responses={201: ContactSerializer, **CRM_ERRORS},
        examples=[
            OpenApiExample("New lead", value=CREATE_EXAMPLE, request_only=True),
            OpenApiExample("Created", value=CONTACT_EXAMPLE, response_only=True),
        ],
    ),
    partial_update=extend_schema(
        summary="Update a contact (only the fields sent)",
        request=ContactWriteSerializer,
        responses={200: ContactSerializer, **CRM_ERRORS},
        examples=[OpenApiExample("Retag", value={"tags": ["customer"]}, request_only=True)],
    ),
    destroy=extend_schema(summary="Delete a contact", responses={204: None, **CRM_ERRORS}),
)
class ContactViewSet(
    # A list page's rows are written by PostgreSQL from the serializer's allow-list (P9).
    JsonRowsListMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    TenantScopedViewSet,
):
    """Contacts of one location. Reads need `contacts:read`, writes `contacts:write`; writes
    reach the CRM first and change nothing here when it refuses."""

    resource = "contacts"
    serializer_class = ContactSerializer
    lookup_field = "ghl_id"
    lookup_url_kwarg = "contact_id"
    default_ordering = "-pk"
    ordering_fields = {"email": "email", "last_name": "last_name", "first_name": "first_name"}
    filters = {
        "search": QueryFilter(
            "", description="Part of the name, email or phone, any case.", apply=_search
        ),
        "email": QueryFilter("email__iexact", description="Exact email, any case."),
        "tag": QueryFilter("tags", description="Contacts carrying this tag.", apply=_tagged),
        "assigned_to": QueryFilter("assigned_to", description="Contacts of this user id."),
        "updated_since": QueryFilter(
            "ghl_updated_at__gte", kind="datetime", description="Changed at or after this time."
        ),
    }

    def location(self) -> Location:
        """The path's location, within the key's tenant (404 otherwise); looked up once."""
        if not hasattr(self, "_location"):
            self._location = self.tenant.location_from_id(self.kwargs.get("location_id"))
        return self._location

    def scoped_queryset(self, tenant: ApiTenant) -> QuerySet[MirrorContact]:
        contacts = MirrorContact.objects.for_location(self.location())
        if self.action == "list":  # no join: the page is one backward scan of an index (P9)
            return contacts
        return contacts.select_related("location__agency")

    def _ghl_fields(self, request: Request, location: Location, creating: bool) -> dict[str, Any]:
        writer = ContactWriteSerializer(data=request.data, context={"creating": creating})
        writer.is_valid(raise_exception=True)
        data = writer.validated_data
        assignee = data.get("assigned_to")
        if assignee and not MirrorUser.objects.for_location(location).filter(ghl_id=assignee):
            raise ApiError(
                "No such user in this location.",
                code="not_found",
                status_code=404,
                details={"assigned_to": ["Not a user of this location."]},
            )
        return {WRITABLE[name]: value for name, value in data.items()}

    def _refused(self, exc: ContactWriteRefused) -> ApiError:
        return ApiError(
            exc.message,
            code=exc.code,
            status_code=exc.status,
            details=exc.details,
            retry_after=exc.retry_after,
        )

    def _prefix(self) -> str:
        return self.tenant.key.prefix

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        location = self.location()
        fields = self._ghl_fields(request, location, creating=True)
        try:
            contact = api_contact_create(
                location=location, fields=fields, key_prefix=self._prefix()
            )
        except ContactWriteRefused as exc:
            raise self._refused(exc) from exc
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        contact = self.get_object()
        fields = self._ghl_fields(request, contact.location, creating=False)
        try:
            fresh = api_contact_update(contact=contact, fields=fields, key_prefix=self._prefix())
        except ContactWriteRefused as exc:
            raise self._refused(exc) from exc
        return Response(ContactSerializer(fresh).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        contact = self.get_object()
        try:
            api_contact_delete(contact=contact, key_prefix=self._prefix())
        except ContactWriteRefused as exc:
            raise self._refused(exc) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)
