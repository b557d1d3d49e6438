"""ModelAdmins of the agency admin site: scoped to the request's agency; every save goes through
the services, so it is validated and audited."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.password_validation import validate_password
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _

from saas_platform.kernel.errors import ApplicationError

from .. import dns, services
from ..models import Agency, AgencyDomain, Branding, Location, Membership, User
from ..request import actor
from ..theme import Theme, theme_of
from .branding import BrandingForm, adjustments_message, branding_preview
from .scoping import AgencyScopedAdmin, ReadOnlyAdminMixin, agency_of, can_change, can_view


class ServiceSaveMixin:
    """Route admin saves through a service and show its refusals as messages."""

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            response: HttpResponse = super().changeform_view(  # type: ignore[misc]
                request, object_id, form_url, extra_context
            )
            return response
        except ApplicationError as error:
            self.message_user(request, error.message, level=messages.ERROR)  # type: ignore[attr-defined]
            return HttpResponseRedirect(request.get_full_path())

    @staticmethod
    def changed(form: forms.ModelForm[Any]) -> dict[str, Any]:
        return {field: form.cleaned_data[field] for field in form.changed_data}


# --- locations -----------------------------------------------------------------------------------


class AgencyLocationAdmin(ServiceSaveMixin, AgencyScopedAdmin):
    list_display = ["name", "industry", "timezone", "status", "ghl_location_id"]
    list_filter = ["industry", "status"]
    search_fields = ["name", "ghl_location_id"]
    fields = ["name", "industry", "timezone", "status", "ghl_location_id"]
    readonly_fields = ["ghl_location_id"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # archive instead: a location's data is never dropped from the admin

    def save_model(self, request: HttpRequest, obj: Location, form: Any, change: bool) -> None:
        if change:
            original = self.get_queryset(request).get(pk=obj.pk)
            services.location_update(
                location=original,
                acting_user=actor(request),
                data=self.changed(form),
            )
        else:
            created = services.location_create(
                agency=agency_of(request),
                name=obj.name,
                industry=obj.industry,
                timezone_name=obj.timezone,
                acting_user=actor(request),
            )
            obj.pk = created.pk


# --- domains -------------------------------------------------------------------------------------


class DomainAddForm(forms.ModelForm[AgencyDomain]):
    class Meta:
        model = AgencyDomain
        fields = ("domain",)

    def clean_domain(self) -> str:
        return services.normalize_domain(self.cleaned_data["domain"])


class AgencyDomainAdmin(ServiceSaveMixin, AgencyScopedAdmin):
    list_display = ["domain", "kind", "is_primary", "verified"]
    actions = ["check_dns", "make_primary"]
    readonly_fields = ["domain", "kind", "is_primary", "verified_at", "dns_instructions"]

    @admin.display(boolean=True)
    def verified(self, obj: AgencyDomain) -> bool:
        return obj.is_verified

    @admin.display(description=gettext_lazy("DNS records to create"))
    def dns_instructions(self, obj: AgencyDomain) -> str:
        if obj.kind == AgencyDomain.Kind.PLATFORM:
            return "None: the platform serves this subdomain."
        return format_html(
            "CNAME <code>{}</code> → <code>{}</code><br>TXT <code>{}</code> = <code>{}</code>",
            obj.domain,
            services.platform_subdomain(obj.agency.slug),
            dns.verification_record_name(obj.domain),
            obj.verification_token,
        )

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = DomainAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj else ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj else ("domain",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a domain is added, verified, made primary or removed — never edited

    def save_model(self, request: HttpRequest, obj: AgencyDomain, form: Any, change: bool) -> None:
        created = services.agency_domain_add(
            agency=self.domain_owner(request, obj),
            domain=obj.domain,
            acting_user=actor(request),
        )
        obj.pk = created.pk

    def domain_owner(self, request: HttpRequest, obj: AgencyDomain) -> Agency:
        return agency_of(request)

    def delete_model(self, request: HttpRequest, obj: AgencyDomain) -> None:
        services.agency_domain_remove(domain=obj, acting_user=actor(request))

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        for domain in queryset:
            services.agency_domain_remove(domain=domain, acting_user=actor(request))

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except ApplicationError as error:
            self.message_user(request, error.message, level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    @admin.action(description=gettext_lazy("Check the DNS record of the selected domains now"))
    def check_dns(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        for domain in queryset:
            if services.agency_domain_check(domain=domain):
                self.message_user(
                    request,
                    _("Verified: %(domain)s.") % {"domain": domain.domain},
                    messages.SUCCESS,
                )
            else:
                record = dns.verification_record_name(domain.domain)
                self.message_user(
                    request,
                    _(
                        "Not verified yet: no TXT record at %(record)s carries the token. DNS "
                        "changes can take a while to spread; we keep checking for a week."
                    )
                    % {"record": record},
                    messages.WARNING,
                )

    @admin.action(description=gettext_lazy("Make the selected verified domain primary"))
    def make_primary(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one domain."), level=messages.ERROR)
            return
        try:
            services.agency_domain_make_primary(domain=queryset.get(), acting_user=actor(request))
        except ApplicationError as error:
            self.refuse(request, error)


# --- branding ------------------------------------------------------------------------------------


class AgencyBrandingAdmin(ServiceSaveMixin, AgencyScopedAdmin):
    """One branding per agency: the list goes straight to its form."""

    form = BrandingForm
    fields = (*services.BRANDING_EDITABLE, "theme_preview")
    readonly_fields = ("theme_preview",)

    class Media:
        # A file, not an inline script: the Content-Security-Policy runs no inline code.
        js = ("tenants/branding_preview.js",)

    @admin.display(description=gettext_lazy("Preview"))
    def theme_preview(self, obj: Branding) -> str:
        return branding_preview(obj)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        branding = self.get_queryset(request).get()
        opts = self.model._meta
        name = f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change"
        return HttpResponseRedirect(reverse(name, args=[branding.pk]))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Branding, form: Any, change: bool) -> None:
        original = Branding.objects.for_agency(obj.agency).get()
        saved = services.branding_update(
            branding=original, acting_user=actor(request), data=self.changed(form)
        )
        self.warn_adjusted(request, theme_of(saved))

    def warn_adjusted(self, request: HttpRequest, theme: Theme) -> None:
        if theme.adjustments:
            self.message_user(request, adjustments_message(theme), level=messages.WARNING)


# --- people --------------------------------------------------------------------------------------


class UserAddForm(forms.ModelForm[User]):
    password = forms.CharField(widget=forms.PasswordInput, strip=False)
    role = forms.ChoiceField(choices=Membership.Role.choices)
    location = forms.ModelChoiceField(queryset=Location.objects.none(), required=False)

    class Meta:
        model = User
        fields = ("email", "full_name")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        role, location = data.get("role"), data.get("location")
        if role in Membership.CLIENT_ROLES and location is None:
            self.add_error("location", _("Client roles need a location."))
        if role in Membership.AGENCY_ROLES and location is not None:
            self.add_error("location", _("Agency roles apply to the whole agency; leave it empty."))
        if data.get("password"):
            try:
                validate_password(data["password"])
            except forms.ValidationError as error:
                self.add_error("password", error)
        return data

    def validate_unique(self) -> None:
        pass  # uniqueness is per realm; the service checks it with the realm in hand


class MembershipInline(admin.TabularInline[Membership, User]):
    model = Membership
    fields = ("role", "location")
    extra = 0

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        return Membership.objects.for_agency(agency_of(request)).select_related("location")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.related_model is Location:
            kwargs["queryset"] = Location.objects.for_agency(agency_of(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_change(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_change(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_change(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_view(request)


class AgencyUserAdmin(ServiceSaveMixin, AgencyScopedAdmin):
    list_display = ("email", "full_name", "is_active", "roles")
    search_fields = ("email", "full_name")
    list_filter = ("is_active",)
    fields = ("email", "full_name", "is_active", "last_login", "date_joined")
    readonly_fields = ("email", "last_login", "date_joined")
    inlines = (MembershipInline,)

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        return User.objects.filter(agency=agency_of(request)).prefetch_related(
            "memberships__location"
        )

    @admin.display(description=gettext_lazy("Roles"))
    def roles(self, obj: User) -> str:
        return ", ".join(
            f"{m.get_role_display()}{' · ' + m.location.name if m.location else ''}"
            for m in obj.memberships.all()
        )

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = UserAddForm
            form = super().get_form(request, obj, change=change, **kwargs)
            location_field = cast(forms.ModelChoiceField[Location], form.base_fields["location"])
            location_field.queryset = Location.objects.for_agency(agency_of(request))
            return form
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields if obj else ("email", "full_name", "password", "role", "location")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj else ()

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.inlines if obj else ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead, so their audit trail keeps its actor

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        if change:
            original = self.get_queryset(request).get(pk=obj.pk)
            services.user_update(user=original, acting_user=actor(request), data=self.changed(form))
            return
        user = services.user_create(
            agency=agency_of(request),
            email=form.cleaned_data["email"],
            full_name=form.cleaned_data["full_name"],
            password=form.cleaned_data["password"],
            acting_user=actor(request),
        )
        services.membership_grant(
            user=user,
            role=form.cleaned_data["role"],
            location=form.cleaned_data["location"],
            acting_user=actor(request),
        )
        obj.pk = user.pk

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        user = form.instance
        for membership in formset.deleted_objects:
            services.membership_revoke(membership=membership, acting_user=actor(request))
        for inline_form in formset.forms:
            if inline_form in formset.deleted_forms or not inline_form.has_changed():
                continue
            data = inline_form.cleaned_data
            if inline_form.instance.pk and "location" in inline_form.changed_data:
                services.membership_revoke(
                    membership=inline_form.instance, acting_user=actor(request)
                )
            services.membership_grant(
                user=user,
                role=data["role"],
                location=data.get("location"),
                acting_user=actor(request),
            )


# --- audit log -----------------------------------------------------------------------------------


AUDIT_FIELDS = (
    "created_at",
    "action",
    "target_type",
    "target_id",
    "target_repr",
    "actor",
    "location",
    "changes",
)


class AgencyAuditLogAdmin(ReadOnlyAdminMixin, AgencyScopedAdmin):
    list_display = ("created_at", "action", "target_repr", "actor", "location")
    list_filter = ("action",)
    search_fields = ("target_repr", "action")
    list_select_related = ("actor", "location")
    fields = AUDIT_FIELDS
    readonly_fields = fields
