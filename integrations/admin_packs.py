"""Industry packs in the admin: "Activate an industry pack…" on the Location list (an intermediate
page choosing the pack; each location's activation then runs as a task after commit), and the
activations, read-only, with what GHL gave and what the user still has to do."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy, ngettext
from django.utils.translation import gettext_lazy as _

from saas_platform.kernel.errors import ApplicationError
from tenants.admin.scoping import (
    AgencyRelatedFilter,
    AgencyScopedAdmin,
    ReadOnlyAdminMixin,
    StaffAdminMixin,
    can_change,
    is_operator,
)
from tenants.admin.staff import StaffLocationAdmin
from tenants.request import actor

from .packs.catalog import packs
from .packs.models import PackActivation
from .packs.services import pack_activation_request, pipeline_instructions

REFRESH_SECONDS = 3


class PackChoiceForm(forms.Form):
    pack = forms.ChoiceField(
        label=_("Industry pack"),
        widget=forms.RadioSelect,
        help_text=_(
            "Creates the pack's custom fields in each location's GHL (those that exist "
            "already are adopted) and checks its pipelines. Activating again is safe."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: forms.ChoiceField = self.fields["pack"]  # type: ignore[assignment]
        field.choices = [
            (pack.key, f"{pack.name} — {pack.description}") for pack in packs().values()
        ]


class PackActionMixin:
    """The Location list's pack action, for the agency and the staff admin alike (each passes
    its own scoped queryset of the chosen locations)."""

    admin_site: admin.AdminSite
    model: Any

    def has_activate_pack_permission(self, request: HttpRequest) -> bool:
        return can_change(request) or is_operator(request)

    @admin.action(
        description=gettext_lazy("Activate an industry pack…"), permissions=["activate_pack"]
    )
    def activate_pack(
        self, request: HttpRequest, queryset: models.QuerySet[Any]
    ) -> HttpResponse | None:
        # Django's intermediate-page pattern: the first POST (from the list) shows the choice,
        # the second (carrying the same selection and action) queues the activations.
        if "activate" in request.POST:
            form = PackChoiceForm(request.POST)
            if form.is_valid():
                return self._queue(request, queryset, form.cleaned_data["pack"])
        else:
            # The pack of the locations' industry is the likely choice.
            industries = set(queryset.values_list("industry", flat=True))
            suggested = [p.key for p in packs().values() if {p.industry} == industries]
            form = PackChoiceForm(initial={"pack": suggested[0]} if suggested else None)
        context = {
            **self.admin_site.each_context(request),
            "title": "Activate an industry pack",
            "opts": self.model._meta,
            "form": form,
            "locations": queryset,
            "action_name": "activate_pack",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "select_across": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(
            request, "admin/integrations/packactivation/choose_pack.html", context
        )

    def _queue(
        self, request: HttpRequest, queryset: models.QuerySet[Any], pack_key: str
    ) -> HttpResponse | None:
        locations = list(queryset.select_related("agency"))
        try:
            for location in locations:
                pack_activation_request(
                    location=location, pack_key=pack_key, acting_user=actor(request)
                )
        except ApplicationError as error:
            self.message_user(request, error.message, messages.ERROR)  # type: ignore[attr-defined]
            return None
        self.message_user(  # type: ignore[attr-defined]
            request,
            ngettext(
                "%(name)s: activation queued for %(locations_count)s location.",
                "%(name)s: activation queued for %(locations_count)s locations.",
                len(locations),
            )
            % {"name": packs()[pack_key].name, "locations_count": len(locations)},
            messages.SUCCESS,
        )
        opts = PackActivation._meta
        name = f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_changelist"
        return HttpResponseRedirect(f"{reverse(name)}?pack_key={pack_key}")


class StaffPackLocationAdmin(PackActionMixin, StaffLocationAdmin):
    actions = ["activate_pack"]


# --- the activations -----------------------------------------------------------------------------


class PackActivationAdmin(ReadOnlyAdminMixin, AgencyScopedAdmin):
    agency_path = "location__agency"
    list_display = ["location", "pack", "status", "field_count", "pipelines", "last_error",
                    "last_run_at", "activated_at"]  # fmt: skip
    list_filter = ["status", "pack_key", ("location", AgencyRelatedFilter)]
    list_select_related = ["location"]
    fields = readonly_fields = ("location", "pack", "pack_version", "status", "error", "todo",
                                "field_map", "pipelines_found", "notes", "requested_by",
                                "last_run_at", "activated_at", "created_at")  # fmt: skip

    @admin.display(description=gettext_lazy("Pack"), ordering="pack_key")
    def pack(self, obj: PackActivation) -> str:
        pack = packs().get(obj.pack_key)
        return pack.name if pack else obj.pack_key

    @admin.display(description=gettext_lazy("Fields"))
    def field_count(self, obj: PackActivation) -> str:
        pack = packs().get(obj.pack_key)
        return f"{len(obj.fields)} / {len(pack.fields) if pack else '?'}"

    @admin.display(description=gettext_lazy("Pipelines"))
    def pipelines(self, obj: PackActivation) -> str:
        found, missing = len(obj.pipelines_matched), len(obj.pipelines_missing)
        return f"{found} found, {missing} to create" if missing else f"{found} found"

    @admin.display(description=gettext_lazy("Last error"))
    def last_error(self, obj: PackActivation) -> str:
        return (obj.error[:100] + "…") if len(obj.error) > 100 else obj.error

    @admin.display(description=gettext_lazy("What to do in GHL"))
    def todo(self, obj: PackActivation) -> str:
        steps = pipeline_instructions(activation=obj)
        if not steps:
            return "Nothing."
        items = format_html_join("", "<li>{}</li>", ((step,) for step in steps))
        return format_html("<ol>{}</ol>", items)

    @admin.display(description=gettext_lazy("Custom fields in GHL"))
    def field_map(self, obj: PackActivation) -> str:
        pack = packs().get(obj.pack_key)
        names = {f.key: f.name for f in pack.fields} if pack else {}
        rows = ((names.get(key, key), ghl_id) for key, ghl_id in sorted(obj.fields.items()))
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}: {}</li>", rows))

    @admin.display(description=gettext_lazy("Pipelines found"))
    def pipelines_found(self, obj: PackActivation) -> str:
        rows = ((p["name"], p["id"], len(p.get("stages") or {})) for p in obj.pipelines_matched)
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{} ({}): {} stage(s)</li>", rows)
        )

    def _refresh(self, queued: bool, extra_context: Any) -> dict[str, Any]:
        return {**(extra_context or {}), "refresh_seconds": REFRESH_SECONDS if queued else None}

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        queued = self.get_queryset(request).filter(status=PackActivation.Status.QUEUED).exists()
        return super().changelist_view(request, self._refresh(queued, extra_context))


class StaffPackActivationAdmin(StaffAdminMixin, PackActivationAdmin):
    list_display = ["agency", *PackActivationAdmin.list_display]
    list_filter = ["status", "pack_key"]
    list_select_related = ["location__agency"]

    @admin.display(description=gettext_lazy("Agency"), ordering="location__agency__name")
    def agency(self, obj: PackActivation) -> Any:
        return obj.location.agency
