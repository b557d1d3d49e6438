"""ModelAdmins of the staff admin site: platform operators, every tenant's rows (explicitly
unscoped), saves through the same services as the agency site."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from .. import services
from ..models import Agency, AgencyDomain, AuditLogEntry, Branding, Location, Membership, User
from ..request import actor
from .agency import (
    AUDIT_FIELDS,
    AgencyDomainAdmin,
    AgencyLocationAdmin,
    DomainAddForm,
    ServiceSaveMixin,
)
from .scoping import ReadOnlyAdminMixin, StaffAdminMixin


class StaffLocationAdmin(StaffAdminMixin, AgencyLocationAdmin):
    list_display = ["name", "agency", "industry", "timezone", "status", "ghl_location_id"]
    list_filter = ["industry", "status", "agency"]
    list_select_related = ("agency",)
    fields = ["agency", "name", "industry", "timezone", "status", "ghl_location_id"]
    readonly_fields = []

    def save_model(self, request: HttpRequest, obj: Location, form: Any, change: bool) -> None:
        if change:
            original = Location.objects.unscoped().get(pk=obj.pk)
            data = self.changed(form)
            data.pop("agency", None)  # moving a location between agencies is not an edit
            services.location_update(location=original, acting_user=actor(request), data=data)
        else:
            created = services.location_create(
                agency=obj.agency,
                name=obj.name,
                industry=obj.industry,
                timezone_name=obj.timezone,
                ghl_location_id=obj.ghl_location_id,
                acting_user=actor(request),
            )
            obj.pk = created.pk

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("agency",) if obj else ()


class StaffDomainAdmin(StaffAdminMixin, AgencyDomainAdmin):
    list_display = ["domain", "agency", "kind", "is_primary", "verified"]
    list_filter = ["kind", "agency"]
    list_select_related = ("agency",)
    search_fields = ["domain"]
    actions = ["check_dns", "make_primary", "verify"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("agency", *self.readonly_fields) if obj else ("agency", "domain")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("agency", *self.readonly_fields) if obj else ()

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = StaffDomainAddForm
        return admin.ModelAdmin.get_form(self, request, obj, change=change, **kwargs)

    def domain_owner(self, request: HttpRequest, obj: AgencyDomain) -> Agency:
        return obj.agency

    @admin.action(description=gettext_lazy("Mark the selected domains as verified"))
    def verify(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        for domain in queryset:
            services.agency_domain_verify(domain=domain, acting_user=actor(request))


class StaffDomainAddForm(DomainAddForm):
    class Meta(DomainAddForm.Meta):
        fields = ("agency", "domain")  # type: ignore[assignment]


class StaffBrandingInline(admin.StackedInline[Branding, Agency]):
    model = Branding
    fields = services.BRANDING_EDITABLE
    can_delete = False


class StaffUserAdmin(StaffAdminMixin, ServiceSaveMixin, admin.ModelAdmin[User]):
    list_display = ["email", "agency", "full_name", "is_staff", "is_active", "last_login"]
    list_filter = ["is_staff", "is_active", "agency"]
    list_select_related = ("agency",)
    search_fields = ["email", "full_name"]
    fields = ["agency", "email", "full_name", "is_active", "is_staff", "last_login", "date_joined"]
    readonly_fields = ["agency", "email", "is_staff", "last_login", "date_joined"]

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        original = User.objects.get(pk=obj.pk)
        services.user_update(user=original, acting_user=actor(request), data=self.changed(form))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # people join through their agency (or `createsuperuser` for operators)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class StaffMembershipAdmin(StaffAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin[Membership]):
    list_display = ["user", "agency", "location", "role"]
    list_filter = ["role", "agency"]
    list_select_related = ("user", "agency", "location")
    search_fields = ["user__email"]


# --- agencies (staff only) -----------------------------------------------------------------------


class StaffAgencyAdmin(StaffAdminMixin, ServiceSaveMixin, admin.ModelAdmin[Agency]):
    list_display = ["name", "slug", "ghl_company_id", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "slug", "ghl_company_id"]
    inlines = (StaffBrandingInline,)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj:
            return (
                "name",
                "slug",
                "ghl_company_id",
                "status",
                "allow_self_signup",
                "allow_sso_join",
            )
        return ("name", "slug", "ghl_company_id")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("slug", "ghl_company_id") if obj else ()

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.inlines if obj else ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # suspend instead

    def save_model(self, request: HttpRequest, obj: Agency, form: Any, change: bool) -> None:
        if change:
            original = Agency.objects.get(pk=obj.pk)
            services.agency_update(
                agency=original, acting_user=actor(request), data=self.changed(form)
            )
        else:
            created = services.agency_create(
                name=obj.name,
                slug=obj.slug,
                ghl_company_id=obj.ghl_company_id,
                acting_user=actor(request),
            )
            obj.pk = created.pk

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        for inline_form in formset.forms:
            if inline_form.has_changed():
                original = Branding.objects.for_agency(form.instance).get()
                data = {f: inline_form.cleaned_data[f] for f in inline_form.changed_data}
                services.branding_update(branding=original, acting_user=actor(request), data=data)


class StaffAuditLogAdmin(StaffAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin[AuditLogEntry]):
    list_display = ["created_at", "action", "agency", "target_repr", "actor"]
    list_filter = ["action", "agency"]
    search_fields = ["target_repr", "action"]
    list_select_related = ("actor", "agency")
    fields = (*AUDIT_FIELDS, "agency")
    readonly_fields = fields
