"""The tenant-scoped base of every API resource (ARCHITECTURE.md pattern 4).

A resource never sets ``queryset``; it implements ``scoped_queryset(tenant)`` and receives the
caller's :class:`ApiTenant`. The base refuses a queryset that is not tenant-scoped (the models'
ScopedManager marks one), so an unscoped list cannot be written by accident. Ids from the path,
the query or the body are resolved with :meth:`TenantScopedViewSet.location_from_id` and
friends, within the tenant: another tenant's id is the same 404 as a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from django.db.models import QuerySet
from django.http import Http404
from rest_framework import viewsets
from rest_framework.parsers import JSONParser

from saas_platform.kernel.api.pagination import ApiCursorPagination
from saas_platform.kernel.api.params import AllowListFilter
from saas_platform.kernel.api.rows import ApiJSONRenderer
from saas_platform.kernel.api.throttle import ApiKeyRateThrottle
from saas_platform.kernel.api.views import ApiViewMixin
from saas_platform.kernel.errors import UnscopedQueryError
from saas_platform.kernel.machine import api_endpoint
from saas_platform.kernel.scoping import ScopedQuerySet

from ..caches import API_LOCATIONS
from ..models import Agency, Location
from .authentication import ApiKeyAuthentication
from .models import ApiKey
from .permissions import HasKeyScope


@dataclass(frozen=True)
class ApiTenant:
    key: ApiKey

    @property
    def agency(self) -> Agency:
        return self.key.agency

    @property
    def location(self) -> Location | None:
        """The one location of a location key; None for an agency-wide key."""
        return self.key.location

    def locations(self) -> QuerySet[Location]:
        scoped = Location.objects.for_agency(self.agency)
        if self.location is not None:
            scoped = scoped.filter(pk=self.location.pk)
        return scoped

    def location_from_id(self, location_id: Any) -> Location:
        """A location this key may act on, or a 404 (missing and foreign alike); kept at most a
        second in the process (tenants.caches)."""
        try:
            wanted = int(location_id)
        except (TypeError, ValueError):
            raise Http404 from None
        scope = (self.agency.pk, self.key.location_id, wanted)
        found = API_LOCATIONS.get_or_load(scope, lambda: self.locations().filter(pk=wanted).first())
        if found is None:
            raise Http404
        return found


class TenantScopedViewSet(ApiViewMixin, viewsets.GenericViewSet):  # type: ignore[type-arg]
    """Subclasses set ``resource`` (the scope name) and implement ``scoped_queryset``."""

    resource: ClassVar[str]
    agency_keys_only: ClassVar[bool] = False

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasKeyScope]
    throttle_classes = [ApiKeyRateThrottle]
    pagination_class = ApiCursorPagination
    filter_backends = [AllowListFilter]
    parser_classes = [JSONParser]
    renderer_classes = [ApiJSONRenderer]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("queryset") is not None:
            raise TypeError(f"{cls.__name__}: implement scoped_queryset(), never set queryset")

    @classmethod
    def as_view(cls, actions: Any = None, **initkwargs: Any) -> Any:
        # Key-authenticated only: the browser middleware (sessions, CSRF, messages) is skipped.
        return api_endpoint(super().as_view(actions, **initkwargs))

    @property
    def tenant(self) -> ApiTenant:
        key = self.request.auth
        if not isinstance(key, ApiKey):  # permissions already refused; defence in depth
            raise Http404
        return ApiTenant(key)

    def scoped_queryset(self, tenant: ApiTenant) -> QuerySet[Any]:
        raise NotImplementedError

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        # No id of ours holds a NUL; PostgreSQL refuses one in a query (a 500 otherwise).
        if any(isinstance(value, str) and "\x00" in value for value in kwargs.values()):
            raise Http404
        super().initial(request, *args, **kwargs)

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        serializer = super().get_serializer(*args, **kwargs)
        # Build the field set now, so `?fields=` is checked even when the page is empty.
        target: Any = getattr(serializer, "child", serializer)
        _ = target.fields
        return serializer

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no rows
            return self.schema_model()._default_manager.none()  # type: ignore[no-any-return]
        queryset = self.scoped_queryset(self.tenant)
        if isinstance(queryset, ScopedQuerySet) and not queryset.is_scoped:
            raise UnscopedQueryError(f"{type(self).__name__}.scoped_queryset is not scoped")
        return queryset

    @classmethod
    def schema_model(cls) -> Any:
        return cls.serializer_class.Meta.model  # type: ignore[union-attr]
