"""Fail-closed querysets for tenant-owned models.

A model that belongs to a tenant names the field that carries it (``TENANT_FIELD = "agency"`` or
``"location"``) and uses ``ScopedManager``. Its queryset refuses to run (``UnscopedQueryError``)
until a scope has been applied, in one of three ways:

* ``.filter(<tenant field>=...)`` (also ``<field>_id``, ``<field>__in``, ``<field>__agency`` …),
  which is what the tenant-specific helpers (``.for_agency(agency)``) do;
* a related manager or prefetch from an instance already in hand (``agency.locations.all()``,
  ``location.memberships.all()``): the rows hang off an object that was itself looked up;
* ``.unscoped()``, the explicit and greppable escape hatch for the staff admin and system jobs.

Django's internals that must see every row (cascading deletes, FK validation, ``obj.related``)
go through ``_base_manager``, which stays a plain manager.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ClassVar, Generic, Self, TypeVar

from django.db import models

from .errors import UnscopedQueryError

ModelT = TypeVar("ModelT", bound=models.Model)

# Uniqueness validation must see every tenant's rows (the database constraint is global).
_validating_uniqueness: ContextVar[bool] = ContextVar("validating_uniqueness", default=False)


@contextmanager
def _uniqueness_validation() -> Iterator[None]:
    token = _validating_uniqueness.set(True)
    try:
        yield
    finally:
        _validating_uniqueness.reset(token)


class TenantOwnedModel(models.Model):
    """Base of models whose rows belong to a tenant; ``TENANT_FIELD`` names the owning field."""

    TENANT_FIELD: ClassVar[str]

    class Meta:
        abstract = True

    def validate_unique(self, exclude: Any = None) -> None:
        with _uniqueness_validation():
            super().validate_unique(exclude=exclude)

    def validate_constraints(self, exclude: Any = None) -> None:
        with _uniqueness_validation():
            super().validate_constraints(exclude=exclude)


class ScopedQuerySet(models.QuerySet[ModelT], Generic[ModelT]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tenant_scoped = False

    # --- scoping ------------------------------------------------------------------------------

    def unscoped(self) -> Self:
        """All tenants' rows: only for the staff admin and platform-wide jobs."""
        clone = self._clone()
        clone._tenant_scoped = True
        return clone

    @property
    def is_scoped(self) -> bool:
        return self._tenant_scoped

    def _tenant_field(self) -> str:
        field = getattr(self.model, "TENANT_FIELD", None)
        if not field:
            raise TypeError(f"{self.model.__name__} uses ScopedManager but sets no TENANT_FIELD")
        return str(field)

    def _scopes(self, kwargs: dict[str, Any]) -> bool:
        field = self._tenant_field()
        for key, value in kwargs.items():
            if value is None or key.endswith("__isnull"):
                continue
            if key in (field, f"{field}_id") or key.startswith((f"{field}__", f"{field}_id__")):
                return True
        return False

    def _filter_or_exclude(self, negate: bool, args: Any, kwargs: Any) -> Self:
        clone: Self = super()._filter_or_exclude(negate, args, kwargs)  # type: ignore[misc]
        if not negate and self._scopes(kwargs):
            clone._tenant_scoped = True
        return clone

    def _clone(self) -> Self:
        clone = super()._clone()  # type: ignore[misc]
        clone._tenant_scoped = self._tenant_scoped
        return clone  # type: ignore[no-any-return]

    # --- every path that reads or writes rows ------------------------------------------------

    def _require_scope(self) -> None:
        if not self._tenant_scoped and not _validating_uniqueness.get():
            raise UnscopedQueryError(
                f"Query on tenant-owned {self.model.__name__} without a tenant scope: filter by "
                f"{self._tenant_field()!r} (or call .unscoped() for a platform-wide job)."
            )

    def _fetch_all(self) -> None:
        if self._result_cache is None:
            self._require_scope()
        super()._fetch_all()

    def iterator(self, chunk_size: int | None = None) -> Any:
        self._require_scope()
        return super().iterator(chunk_size=chunk_size)

    def count(self) -> int:
        if self._result_cache is None:
            self._require_scope()
        return super().count()

    def exists(self) -> bool:
        if self._result_cache is None:
            self._require_scope()
        return super().exists()

    def contains(self, obj: models.Model) -> bool:
        self._require_scope()
        return super().contains(obj)

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._require_scope()
        return super().aggregate(*args, **kwargs)

    def in_bulk(self, *args: Any, **kwargs: Any) -> Any:
        self._require_scope()
        return super().in_bulk(*args, **kwargs)

    def update(self, **kwargs: Any) -> int:
        self._require_scope()
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        self._require_scope()
        return super().delete()

    def explain(self, *args: Any, **kwargs: Any) -> str:
        self._require_scope()
        return super().explain(*args, **kwargs)

    def __repr__(self) -> str:
        if not self._tenant_scoped and self._result_cache is None:
            return f"<{type(self).__name__} of {self.model.__name__}, not scoped to a tenant>"
        return super().__repr__()


class ScopedManager(models.Manager[ModelT]):
    """Base manager class for tenant-owned models; build one with
    ``ScopedManager.from_queryset(SomeScopedQuerySet)``."""

    def get_queryset(self) -> models.QuerySet[ModelT]:
        queryset = super().get_queryset()
        # Related managers (reverse FK, M2M) carry the instance they hang off.
        if getattr(self, "instance", None) is not None and isinstance(queryset, ScopedQuerySet):
            queryset._tenant_scoped = True
        return queryset
