"""The REST API's URLs (``/api/v1/`` on agency domains; docs/api.md). Each app's resources are
mounted here, so tenants and integrations need not know each other."""

from typing import Any

from django.urls import path, re_path

from integrations.api.contacts import ContactViewSet
from saas_platform.kernel.api.errors import api_not_found
from tenants.api import docs
from tenants.api.resources import AuditLogViewSet, LocationViewSet

LIST: dict[str, Any] = {"get": "list"}
DETAIL: dict[str, Any] = {"get": "retrieve"}
CONTACTS: dict[str, Any] = {"get": "list", "post": "create"}
CONTACT: dict[str, Any] = {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}

urlpatterns = [
    path("schema/", docs.SchemaView.as_view(), name=docs.SCHEMA_URL_NAME),
    path("docs/", docs.SwaggerView.as_view(), name="api-docs"),
    path("redoc/", docs.RedocView.as_view(), name="api-redoc"),
    path("locations/", LocationViewSet.as_view(LIST), name="api-location-list"),
    path("locations/<int:pk>/", LocationViewSet.as_view(DETAIL), name="api-location-detail"),
    path(
        "locations/<int:location_id>/contacts/",
        ContactViewSet.as_view(CONTACTS),
        name="api-contact-list",
    ),
    path(
        "locations/<int:location_id>/contacts/<str:contact_id>/",
        ContactViewSet.as_view(CONTACT),
        name="api-contact-detail",
    ),
    path("audit-log/", AuditLogViewSet.as_view(LIST), name="api-audit-list"),
    path("audit-log/<int:pk>/", AuditLogViewSet.as_view(DETAIL), name="api-audit-detail"),
    # Last: any other path under /api/v1/ is a 404 in the error envelope.
    re_path(r"^.*$", api_not_found, name="api-not-found"),
]
