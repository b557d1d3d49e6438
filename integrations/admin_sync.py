"""Admin screens of the mirror and its sync: per-location settings and "sync now", run history with
live progress, and the mirrored contacts (with erasure)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy, ngettext
from django.utils.translation import gettext_lazy as _

from saas_platform.kernel.errors import ApplicationError
from tenants.admin.scoping import (
    AgencyRelatedFilter,
    AgencyScopedAdmin,
    ReadOnlyAdminMixin,
    StaffAdminMixin,
    agency_of,
)
from tenants.models import Location
from tenants.request import actor

from .admin_decisions import contact_decisions_html
from .mirror.models import MirrorContact
from .privacy import contact_erase, contact_export
from .sync.engine import sync_run_start
from .sync.models import LocationSync, SyncRun

REFRESH_SECONDS = 3


class LocationSyncForm(forms.ModelForm[LocationSync]):
    interval_minutes = forms.IntegerField(
        min_value=5,
        max_value=1440,
        help_text=_("Between 5 minutes and a day."),
    )

    class Meta:
        model = LocationSync
        fields = ("enabled", "interval_minutes")


class LocationSyncAdmin(AgencyScopedAdmin):
    agency_path = "location__agency"
    form = LocationSyncForm
    list_display = [
        "location",
        "enabled",
        "interval_minutes",
        "last_backfill_at",
        "last_incremental_at",
        "last_reconcile_at",
    ]
    list_filter = ["enabled"]
    list_select_related = ["location"]
    readonly_fields = ["location", "last_backfill_at", "last_incremental_at", "last_reconcile_at"]
    fields = ["location", "enabled", "interval_minutes", *readonly_fields[1:]]
    actions = ["sync_now", "full_resync", "reconcile_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # created when a location is connected

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def _start(self, request: HttpRequest, queryset: models.QuerySet[Any], kind: str) -> None:
        runs = [sync_run_start(location=sync.location, kind=kind) for sync in queryset]
        self.message_user(
            request,
            ngettext(
                "%(runs_count)s sync run queued; follow them under Sync runs.",
                "%(runs_count)s sync runs queued; follow them under Sync runs.",
                len(runs),
            )
            % {"runs_count": len(runs)},
            messages.SUCCESS,
        )

    @admin.action(description=gettext_lazy("Sync now (changes since the last pass)"))
    def sync_now(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        self._start(request, queryset, SyncRun.Kind.INCREMENTAL)

    @admin.action(description=gettext_lazy("Full resync (read everything again)"))
    def full_resync(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        self._start(request, queryset, SyncRun.Kind.BACKFILL)

    @admin.action(description=gettext_lazy("Reconcile (find what webhooks missed)"))
    def reconcile_now(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        self._start(request, queryset, SyncRun.Kind.RECONCILE)


class SyncRunAdmin(ReadOnlyAdminMixin, AgencyScopedAdmin):
    agency_path = "location__agency"
    list_display = [
        "created_at",
        "location",
        "kind",
        "status",
        "progress",
        "rows",
        "pages",
        "requests",
        "finished_at",
        "error",
    ]
    list_filter = ["status", "kind", ("location", AgencyRelatedFilter)]
    list_select_related = ["location"]
    fields = readonly_fields = (
        "location",
        "kind",
        "status",
        "entity",
        "progress",
        "rows",
        "pages",
        "requests",
        "total_estimate",
        "started_at",
        "finished_at",
        "error",
        "details",
    )

    @admin.display(description=gettext_lazy("Progress"))
    def progress(self, obj: SyncRun) -> str:
        percent = obj.percent
        if percent is None:
            return f"{obj.rows:,} records" if obj.status == SyncRun.Status.RUNNING else "—"
        return format_html(
            '<progress max="100" value="{}" aria-label="{}%">{}%</progress> {}%',
            percent,
            percent,
            percent,
            percent,
        )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        active = self.get_queryset(request).filter(
            status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING]
        )
        context = {
            **(extra_context or {}),
            "refresh_seconds": REFRESH_SECONDS if active.exists() else None,
        }
        return super().changelist_view(request, context)


class MirrorContactAdmin(ReadOnlyAdminMixin, AgencyScopedAdmin):
    agency_path = "location__agency"
    list_display = ["__str__", "email", "phone", "location", "source", "date_added"]
    list_filter = [("location", AgencyRelatedFilter), "source"]
    search_fields = ["first_name", "last_name", "email", "phone", "ghl_id"]
    list_select_related = ["location"]
    show_full_result_count = False
    actions = ["export", "export_csv", "erase"]
    fields = readonly_fields = (
        "location",
        "ghl_id",
        "first_name",
        "last_name",
        "email",
        "phone",
        "company_name",
        "source",
        "assigned_to",
        "tags",
        "custom_fields",
        "date_added",
        "ghl_updated_at",
        "synced_at",
        "routing",
    )

    @admin.display(description=gettext_lazy("Routing decisions"))
    def routing(self, obj: MirrorContact) -> str:
        return contact_decisions_html(obj, self.admin_site.name)

    @admin.action(description=gettext_lazy("Export everything we hold about the person (JSON)"))
    def export(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one person to export."), messages.ERROR)
            return None
        contact = queryset.select_related("location").get()
        data = contact_export(location=contact.location, ghl_contact_id=contact.ghl_id)
        response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
        response["Content-Disposition"] = f'attachment; filename="contact-{contact.ghl_id}.json"'
        return response

    @admin.action(description=gettext_lazy("Export contacts (CSV)"))
    def export_csv(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> Any:
        """The selected contacts (all of a location: filter by it, then "select all") as CSV."""
        from .bulk.csv_io import contacts_csv_export, contacts_csv_filename

        locations = list(queryset.order_by().values_list("location", flat=True).distinct()[:2])
        if len(locations) != 1:
            self.message_user(
                request,
                _("Export one location at a time: filter by location first."),
                messages.ERROR,
            )
            return None
        location = Location.objects.for_agency(agency_of(request)).get(pk=locations[0])
        rows = contacts_csv_export(location=location, contacts=queryset)
        response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
        name = contacts_csv_filename(location=location)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @admin.action(
        description=gettext_lazy("Erase the selected people everywhere (GHL, our copies, syncs)")
    )
    def erase(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        erased, refused = 0, []
        for contact in queryset.select_related("location"):
            try:
                contact_erase(
                    location=contact.location,
                    ghl_contact_id=contact.ghl_id,
                    acting_user=actor(request),
                )
                erased += 1
            except ApplicationError as error:
                refused.append(f"{contact.ghl_id}: {error.message}")
        if erased:
            self.message_user(
                request,
                ngettext("Erased %(erased)s contact.", "Erased %(erased)s contacts.", erased)
                % {"erased": erased},
                messages.SUCCESS,
            )
        for line in refused:
            self.message_user(request, line, messages.ERROR)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class StaffSyncRunAdmin(StaffAdminMixin, SyncRunAdmin):
    list_filter = ["status", "kind"]


class StaffLocationSyncAdmin(StaffAdminMixin, LocationSyncAdmin):
    pass
