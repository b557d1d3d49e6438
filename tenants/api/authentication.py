"""``Authorization: Bearer <key>`` → the key's tenant, on the agency domain it belongs to.

The key row is one indexed query, kept at most a second in each process (tenants.caches): a
revocation takes effect within a second (at once in the process that made it), an expiry on the
next request. A key of another agency is as unknown as a made-up one: 401.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from ..models import Agency, Location
from .keys import api_key_authenticate
from .models import ApiKey

INVALID = "The API key is missing, malformed, expired or revoked."


@dataclass(frozen=True)
class ApiPrincipal:
    """``request.user`` for an API call: the key acts, not a person."""

    key: ApiKey

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    @property
    def agency(self) -> Agency:
        return self.key.agency

    @property
    def location(self) -> Location | None:
        return self.key.location

    def __str__(self) -> str:
        return f"API key {self.key.prefix}"


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiPrincipal, ApiKey] | None:
        header = get_authorization_header(request).split()
        if not header:
            return None
        if header[0].lower() != self.keyword.lower().encode() or len(header) != 2:
            raise exceptions.AuthenticationFailed(INVALID, code="invalid_api_key")
        agency = getattr(request._request, "agency", None)
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raw = ""
        key = api_key_authenticate(raw_key=raw, agency=agency) if agency and raw else None
        if key is None:
            raise exceptions.AuthenticationFailed(INVALID, code="invalid_api_key")
        return ApiPrincipal(key), key

    def authenticate_header(self, request: Any) -> str:
        return f'{self.keyword} realm="api"'
