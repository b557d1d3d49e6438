"""The base of every ModelAdmin on the agency admin site: scoped to ``request.agency``.

Querysets, foreign-key choices and object lookups all go through the agency; an object of another
agency is a 404 (not Django's "does not exist" redirect, so foreign ids and missing ids look the
same). Permissions follow the membership role, not Django's per-model permissions: agency owners
and admins may change things, agency staff may look.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.forms import AuthenticationForm
from django.db import models
from django.forms import ModelChoiceField
from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _

from saas_platform.kernel.errors import ApplicationError
from saas_platform.kernel.scoping import ScopedQuerySet

from .. import selectors
from ..models import Agency, Location, Membership, User


def agency_of(request: HttpRequest) -> Agency:
    agency = getattr(request, "agency", None)
    if agency is None:  # the agency admin is only mounted on agency domains
        raise Http404
    return agency  # type: ignore[no-any-return]


def agency_role(request: HttpRequest) -> str | None:
    user = request.user
    agency = getattr(request, "agency", None)
    if agency is None or not user.is_authenticated or not user.is_active:
        return None
    cache_attr = "_agency_role_cache"
    if not hasattr(request, cache_attr):
        setattr(request, cache_attr, selectors.membership_role_in_agency(user=user, agency=agency))
    return getattr(request, cache_attr)  # type: ignore[no-any-return]


def can_view(request: HttpRequest) -> bool:
    return agency_role(request) in Membership.AGENCY_ROLES


def can_change(request: HttpRequest) -> bool:
    return agency_role(request) in Membership.AGENCY_ADMIN_ROLES


class AgencyScopedAdmin(admin.ModelAdmin[Any]):
    """Subclasses set ``agency_path``: the lookup from the model to its agency."""

    agency_path = "agency"

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        scoped: models.QuerySet[Any] = self.model._default_manager.filter(
            **{self.agency_path: agency_of(request)}
        )
        return scoped

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404
        return obj

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        agency = agency_of(request)
        related = db_field.related_model
        if related is Location:
            kwargs["queryset"] = Location.objects.for_agency(agency)
        elif related is User:
            kwargs["queryset"] = User.objects.filter(agency=agency)
        elif related is Agency:
            kwargs["queryset"] = Agency.objects.filter(pk=agency.pk)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # Roles decide, not Django's model permissions (agency users have none).
    def has_module_permission(self, request: HttpRequest) -> bool:
        return can_view(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_view(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return can_change(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_change(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_change(request)

    def refuse(self, request: HttpRequest, error: ApplicationError) -> None:
        self.message_user(request, error.message, level=messages.ERROR)


class ReadOnlyAdminMixin:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def is_operator(request: HttpRequest) -> bool:
    user = request.user
    return bool(
        getattr(request, "agency", None) is None
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.agency_id is None
    )


class StaffAdminMixin:
    """For the staff admin: every tenant's rows (explicitly unscoped), operators may do
    everything the ModelAdmin allows, and a missing object is a 404 there too."""

    model: Any

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        queryset = _all_rows(self.model)
        ordering = self.get_ordering(request)  # type: ignore[attr-defined]
        return queryset.order_by(*ordering) if ordering else queryset

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        kwargs.setdefault("queryset", _all_rows(db_field.related_model))
        return admin.ModelAdmin.formfield_for_foreignkey(self, db_field, request, **kwargs)  # type: ignore[arg-type]

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Any:
        obj = admin.ModelAdmin.get_object(self, request, object_id, from_field)  # type: ignore[arg-type]
        if obj is None:
            raise Http404
        return obj

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_operator(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_operator(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return is_operator(request) and super().has_add_permission(request, *args)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_operator(request) and super().has_change_permission(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_operator(request) and super().has_delete_permission(request, obj)  # type: ignore[misc]


def _all_rows(model: Any) -> models.QuerySet[Any]:
    queryset = model._default_manager.get_queryset()
    return queryset.unscoped() if isinstance(queryset, ScopedQuerySet) else queryset


class AgencyAdminLoginForm(AuthenticationForm):
    """The agency admin's sign-in: the account must hold an agency role in this agency (Django's
    default form asks for `is_staff`, which here means platform operator)."""

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        agency = getattr(self.request, "agency", None)
        role = (
            selectors.membership_role_in_agency(user=user, agency=agency)
            if agency is not None
            else None
        )
        if role not in Membership.AGENCY_ROLES:
            raise forms.ValidationError(
                _(
                    "This account has no access to the agency admin. Client users sign in on the "
                    "portal."
                ),
                code="no_agency_role",
            )


class AgencyRelatedFilter(admin.RelatedFieldListFilter):
    """A sidebar filter on a foreign key that offers only the request agency's rows (Django's
    own filter lists every row of the related model)."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> Any:
        agency = agency_of(request)
        related = field.related_model
        scope: dict[str, Any]
        if related is Agency:
            scope = {"pk": agency.pk}
        elif hasattr(related, "TENANT_FIELD") or related is User:
            scope = {"agency": agency}
        else:
            raise TypeError(f"{related.__name__} has no agency to scope the filter by")
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(include_blank=False, ordering=ordering, limit_choices_to=scope)
