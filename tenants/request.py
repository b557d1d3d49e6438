"""The request as the tenancy middleware leaves it, for type checkers and readers alike."""

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from .models import Agency, User


class TenantRequest(HttpRequest):
    agency: Agency | None  # set by TenantMiddleware: None on the platform's own hosts
    user: User | AnonymousUser


def actor(request: HttpRequest) -> User:
    """The signed-in person acting in an admin or portal view."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user
