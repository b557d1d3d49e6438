"""The base of the resources nested under ``/locations/{location_id}/``: the path's location is
resolved within the key's tenant (a location key reaches only its own location; another
tenant's id is the same 404 as a missing one), once per request."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.response import Response

from saas_platform.kernel.api.errors import ApiError
from saas_platform.kernel.errors import ApplicationError
from tenants.api.viewsets import TenantScopedViewSet
from tenants.models import Location


class LocationNestedViewSet(TenantScopedViewSet):
    def location(self) -> Location:
        if not hasattr(self, "_location"):
            self._location = self.tenant.location_from_id(self.kwargs.get("location_id"))
        return self._location

    def key_prefix(self) -> str:
        return self.tenant.key.prefix


def refused(exc: ApplicationError, *, code: str = "refused", status_code: int = 422) -> ApiError:
    """A service's refusal (its message is written for people) in the envelope."""
    return ApiError(exc.message, code=code, status_code=status_code)


def accepted(body: dict[str, Any]) -> Response:
    return Response(body, status=status.HTTP_202_ACCEPTED)
