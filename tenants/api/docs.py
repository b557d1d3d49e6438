"""The API reference on each agency's domain, under its brand: Swagger UI and Redoc served from
our own static files (drf-spectacular-sidecar; no third-party CDN or fonts), titled with the
agency's display name. The schema itself is the same for everyone (docs/openapi.yaml)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.request import Request
from rest_framework.response import Response

SCHEMA_URL_NAME = "api-schema"


class ApiKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "tenants.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from the portal: `Authorization: Bearer ak_….…`.",
        }


def _brand_title(request: Request) -> str:
    agency = getattr(request._request, "agency", None)
    name = agency.branding.display_name if agency is not None else "REST"
    return f"{name} API reference"


class SchemaView(SpectacularAPIView):
    pass


class SwaggerView(SpectacularSwaggerView):
    url_name = SCHEMA_URL_NAME
    template_name = "api/swagger_ui.html"

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.title = _brand_title(request)
        return super().get(request, *args, **kwargs)  # type: ignore[no-untyped-call, no-any-return]


class RedocView(SpectacularRedocView):
    url_name = SCHEMA_URL_NAME
    template_name = "api/redoc.html"

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.title = _brand_title(request)
        return super().get(request, *args, **kwargs)  # type: ignore[no-untyped-call, no-any-return]
