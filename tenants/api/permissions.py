"""Permission from the key's scopes: a view names its ``resource``; GET/HEAD/OPTIONS need
``<resource>:read`` (granted by :write too), anything else ``<resource>:write``. Views only for
agency-wide keys set ``agency_keys_only``."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from .models import ApiKey


def required_scope(request: Request, view: Any) -> str:
    access = "read" if request.method in SAFE_METHODS else "write"
    return f"{view.resource}:{access}"


class HasKeyScope(BasePermission):
    message = "This API key lacks the permission for this request."
    code = "insufficient_scope"

    def has_permission(self, request: Request, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        if getattr(view, "agency_keys_only", False) and key.location_id is not None:
            self.message = "Only an agency-wide API key can use this endpoint."
            return False
        scope = required_scope(request, view)
        self.message = f"This API key lacks the {scope} permission."
        return key.allows(scope)
