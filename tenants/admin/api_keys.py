"""API keys on the agency admin: list, create (the key is shown once, on the page that follows
the creation, and never again), revoke and rotate. Existing keys are never edited: a change of
permissions is a new key."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from saas_platform.kernel.errors import ApplicationError

from ..api.forms import ApiKeyForm
from ..api.keys import IssuedKey, api_key_create, api_key_revoke, api_key_rotate
from ..api.models import ApiKey
from ..models import Location
from ..request import actor
from .scoping import AgencyScopedAdmin, StaffAdminMixin, agency_of

# How long a rotated key keeps working beside its replacement (hours → label).
OVERLAP_CHOICES = {
    "0": "Stop it now",
    "1": "1 hour",
    "24": "24 hours",
    "72": "3 days",
    "168": "7 days",
}
SHOW_ONCE_TEMPLATE = "admin/tenants/apikey/secret_once.html"


class AgencyApiKeyAdmin(AgencyScopedAdmin):
    list_display = [
        "name",
        "prefix",
        "location",
        "scope_list",
        "last_used_at",
        "expires_at",
        "state",
    ]
    search_fields = ["name", "prefix"]
    list_select_related = ["location"]
    fields = (
        "name",
        "prefix",
        "location",
        "scopes",
        "rate_limit_per_minute",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "replaced_by",
        "created_by",
        "created_at",
    )
    readonly_fields = fields
    actions = ["revoke_keys", "rotate_keys"]

    @admin.display(description=gettext_lazy("permissions"))
    def scope_list(self, key: ApiKey) -> str:
        return ", ".join(key.scopes)

    @admin.display(description=gettext_lazy("state"))
    def state(self, key: ApiKey) -> str:
        if key.revoked_at is not None:
            return "revoked"
        return "active" if key.is_active else "expired"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # keys are immutable; actions revoke and rotate

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoked keys stay listed, as the audit trail refers to them

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        agency = agency_of(request)
        locations = Location.objects.for_agency(agency)
        form = ApiKeyForm(request.POST or None, locations=locations)
        if request.method == "POST" and form.is_valid():
            try:
                issued = api_key_create(
                    agency=agency,
                    location=form.cleaned_data.get("location"),
                    name=form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                    expires_at=form.expires_at(),
                    rate_limit_per_minute=form.cleaned_data["rate_limit_per_minute"],
                    acting_user=actor(request),
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                shown: HttpResponse = self._show_secrets(request, [issued], "API key created")
                return shown
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "New API key",
            "form": form,
        }
        return TemplateResponse(request, "admin/tenants/apikey/add.html", context)

    def _show_secrets(self, request: HttpRequest, issued: list[IssuedKey], title: str) -> Any:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "issued": issued,
        }
        response = TemplateResponse(request, SHOW_ONCE_TEMPLATE, context)
        response["Cache-Control"] = "no-store"  # the only copy of the key: never cached
        return response

    @admin.action(description=gettext_lazy("Revoke the selected keys (effective immediately)"))
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        if not self.has_add_permission(request):
            raise PermissionDenied
        keys = list(queryset)
        for key in keys:
            api_key_revoke(key=key, acting_user=actor(request))
        self.message_user(
            request,
            ngettext("Revoked %(keys_count)s key.", "Revoked %(keys_count)s keys.", len(keys))
            % {"keys_count": len(keys)},
            messages.SUCCESS,
        )

    @admin.action(description=gettext_lazy("Rotate the selected keys…"))
    def rotate_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> Any:
        """First a page asking how long the old keys keep working; then the new keys, once."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        keys = list(queryset)
        raw_hours = request.POST.get("overlap_hours", "")
        if raw_hours not in OVERLAP_CHOICES:
            context = {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "Rotate API keys",
                "keys": keys,
                "overlaps": OVERLAP_CHOICES.items(),
                "action": "rotate_keys",
            }
            return TemplateResponse(request, "admin/tenants/apikey/rotate.html", context)
        overlap = timedelta(hours=int(raw_hours))
        issued: list[IssuedKey] = []
        for key in keys:
            try:
                issued.append(api_key_rotate(key=key, acting_user=actor(request), overlap=overlap))
            except ApplicationError as error:
                self.message_user(
                    request,
                    _("%(key)s: %(message)s") % {"key": key, "message": error.message},
                    messages.ERROR,
                )
        if not issued:
            return None
        return self._show_secrets(request, issued, "API keys rotated")


class StaffApiKeyAdmin(StaffAdminMixin, admin.ModelAdmin[ApiKey]):
    """Operators see every agency's keys (never a secret: only digests exist) and can revoke a
    leaked one; creating keys is the agencies' business."""

    list_display = ["name", "prefix", "agency", "location", "last_used_at", "expires_at", "state"]
    list_filter = ["agency"]
    search_fields = ["name", "prefix"]
    list_select_related = ["agency", "location"]
    fields = (*AgencyApiKeyAdmin.fields, "agency")
    readonly_fields = fields
    actions = ["revoke_keys"]
    state = AgencyApiKeyAdmin.state

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=gettext_lazy("Revoke the selected keys (effective immediately)"))
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        keys = list(queryset)
        for key in keys:
            api_key_revoke(key=key, acting_user=actor(request))
        self.message_user(
            request,
            ngettext("Revoked %(keys_count)s key.", "Revoked %(keys_count)s keys.", len(keys))
            % {"keys_count": len(keys)},
            messages.SUCCESS,
        )
