"""Multi-location management in the agency admin: bulk actions on the Location list (each starts
a `BulkJob` and opens its page), the jobs with live progress and per-location results, and the
cross-location health columns and filters of the "GHL connections" page.

The Location admin lives in `tenants`, which may not import the integrations; the actions are
added here, by a subclass that saas_platform.admin_sites registers instead."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import models
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy, ngettext
from django.utils.translation import gettext_lazy as _

from saas_platform.kernel.errors import ApplicationError
from tenants.admin.agency import AgencyLocationAdmin
from tenants.admin.scoping import (
    AgencyScopedAdmin,
    ReadOnlyAdminMixin,
    StaffAdminMixin,
    agency_of,
    can_view,
    is_operator,
)
from tenants.request import actor

from .admin import ConnectionHealthAdmin
from .admin_bulk_templates import LocationTemplateActionMixin
from .admin_packs import PackActionMixin
from .bulk.models import BulkJob, BulkJobItem
from .bulk.services import bulk_job_start
from .connectors.models import ExternalConnection
from .sync.models import SyncRun

REFRESH_SECONDS = 3
ACTIVE = (BulkJob.Status.QUEUED, BulkJob.Status.RUNNING)


# --- the jobs ------------------------------------------------------------------------------------


class BulkJobItemInline(ReadOnlyAdminMixin, admin.TabularInline[BulkJobItem, BulkJob]):
    model = BulkJobItem
    verbose_name = "location result"
    verbose_name_plural = "Results per location"
    fields = readonly_fields = ("location", "status", "message", "finished_at")
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        return BulkJobItem.objects.for_agency(agency_of(request)).select_related("location")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_view(request)  # roles decide, not Django's model permissions


class StaffBulkJobItemInline(BulkJobItemInline):
    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        return BulkJobItem.objects.unscoped().select_related("location")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_operator(request)


class BulkJobAdmin(ReadOnlyAdminMixin, AgencyScopedAdmin):
    list_display = ["created_at", "kind", "status", "progress", "failed", "created_by",
                    "finished_at"]  # fmt: skip
    list_filter = ["status", "kind"]
    list_select_related = ["created_by"]
    fields = readonly_fields = ("kind", "target", "status", "progress", "failed", "created_by",
                                "created_at", "started_at", "finished_at")  # fmt: skip
    inlines = [BulkJobItemInline]

    @admin.display(description=gettext_lazy("Progress"))
    def progress(self, obj: BulkJob) -> str:
        return format_html(
            '<progress max="100" value="{}" aria-label="{}%">{}%</progress> {} / {}',
            obj.percent,
            obj.percent,
            obj.percent,
            obj.done,
            obj.total,
        )

    @admin.display(description=gettext_lazy("Template"))
    def target(self, obj: BulkJob) -> str:
        params = obj.params
        return str(params.get("connection_name") or params.get("template_location_name") or "—")

    def _refresh(self, active: bool, extra_context: Any) -> dict[str, Any]:
        return {**(extra_context or {}), "refresh_seconds": REFRESH_SECONDS if active else None}

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        active = self.get_queryset(request).filter(status__in=ACTIVE).exists()
        return super().changelist_view(request, self._refresh(active, extra_context))

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        job = self.get_object(request, object_id)
        return super().change_view(
            request, object_id, form_url, self._refresh(job.status in ACTIVE, extra_context)
        )


class StaffBulkJobAdmin(StaffAdminMixin, BulkJobAdmin):
    list_display = ["agency", *BulkJobAdmin.list_display]
    list_filter = ["status", "kind", "agency"]
    list_select_related = ["agency", "created_by"]
    inlines = [StaffBulkJobItemInline]


# --- bulk actions on the Location list -----------------------------------------------------------


class TemplateChoiceField(forms.ModelChoiceField[ExternalConnection]):
    def label_from_instance(self, obj: ExternalConnection) -> str:
        return f"{obj.name} — {obj.location.name} ({obj.kind})"


class ApplyConnectionForm(forms.Form):
    connection = TemplateChoiceField(
        queryset=ExternalConnection.objects.none(),
        label=_("Template connection"),
        help_text=_(
            "Copied (settings, credentials, field mapping, schedule) to every selected "
            "location under the same name. Locations that already have a connection of that name "
            "are skipped."
        ),
    )

    def __init__(self, *args: Any, agency: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the agency's own connections: another agency's id is "not a valid choice".
        field: TemplateChoiceField = self.fields["connection"]  # type: ignore[assignment]
        field.queryset = (
            ExternalConnection.objects.for_agency(agency)
            .select_related("location")
            .order_by("name", "location__name")
        )


class BulkLocationAdmin(LocationTemplateActionMixin, PackActionMixin, AgencyLocationAdmin):
    actions = ["apply_connection_template", "apply_routing_template", "apply_report_template",
               "sync_enable", "sync_disable", "resync", "connections_run",
               "activate_pack"]  # fmt: skip

    def _start(
        self,
        request: HttpRequest,
        queryset: models.QuerySet[Any],
        kind: str,
        params: dict[str, Any] | None = None,
    ) -> HttpResponse | None:
        try:
            job = bulk_job_start(
                agency=agency_of(request),
                kind=kind,
                locations=list(queryset),
                params=params,
                acting_user=actor(request),
            )
        except ApplicationError as error:
            self.refuse(request, error)
            return None
        self.message_user(
            request,
            ngettext(
                "%(value)s: started for %(total)s location.",
                "%(value)s: started for %(total)s locations.",
                job.total,
            )
            % {"value": job.get_kind_display(), "total": job.total},
            messages.SUCCESS,
        )
        opts = BulkJob._meta
        name = f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change"
        return HttpResponseRedirect(reverse(name, args=[job.pk]))

    @admin.action(
        description=gettext_lazy("Apply a sync connection template…"), permissions=["change"]
    )
    def apply_connection_template(
        self, request: HttpRequest, queryset: models.QuerySet[Any]
    ) -> HttpResponse | None:
        # Django's intermediate-page pattern: the first POST (from the list) shows the form, the
        # second (from the form, carrying the same selection and action) starts the job.
        agency = agency_of(request)
        if "apply" in request.POST:
            form = ApplyConnectionForm(request.POST, agency=agency)
            if form.is_valid():
                params = {"connection_id": form.cleaned_data["connection"].pk}
                return self._start(request, queryset, BulkJob.Kind.APPLY_CONNECTION, params)
        else:
            form = ApplyConnectionForm(agency=agency)
        context = {
            **self.admin_site.each_context(request),
            "title": "Apply a sync connection template",
            "opts": self.model._meta,
            "form": form,
            "locations": queryset,
            "action_name": "apply_connection_template",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "select_across": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(
            request, "admin/integrations/bulkjob/apply_connection.html", context
        )

    @admin.action(description=gettext_lazy("Enable the GHL sync"), permissions=["change"])
    def sync_enable(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> Any:
        return self._start(request, queryset, BulkJob.Kind.SYNC_ENABLE)

    @admin.action(
        description=gettext_lazy("Disable the GHL sync (and external syncs)"),
        permissions=["change"],
    )
    def sync_disable(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> Any:
        return self._start(request, queryset, BulkJob.Kind.SYNC_DISABLE)

    @admin.action(description=gettext_lazy("Full resync from GHL"), permissions=["change"])
    def resync(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> Any:
        return self._start(request, queryset, BulkJob.Kind.RESYNC)

    @admin.action(description=gettext_lazy("Run every external sync now"), permissions=["change"])
    def connections_run(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> Any:
        return self._start(request, queryset, BulkJob.Kind.CONNECTIONS_RUN)


# --- cross-location health -----------------------------------------------------------------------


def _connections(**filters: Any) -> Any:
    """A per-row count of the location's external connections (a correlated subquery: one
    query for the whole page, however many rows)."""
    counted = (
        ExternalConnection.objects.filter(location=OuterRef("location"), **filters)
        .order_by()
        .values("location")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted), 0)


FINISHED = (SyncRun.Status.SUCCEEDED, SyncRun.Status.FAILED)


def health_annotate(queryset: models.QuerySet[Any]) -> models.QuerySet[Any]:
    last_run = SyncRun.objects.filter(location=OuterRef("location"), status__in=FINISHED)
    last_error = ExternalConnection.objects.filter(location=OuterRef("location")).exclude(
        last_error=""
    )
    annotated: models.QuerySet[Any] = queryset.annotate(
        ghl_sync_enabled=F("location__ghl_sync__enabled"),
        # GREATEST skips NULLs in PostgreSQL: the newer of the two, or the one there is.
        last_ghl_sync_at=Greatest(
            "location__ghl_sync__last_incremental_at", "location__ghl_sync__last_backfill_at"
        ),
        last_ghl_run_status=Subquery(last_run.order_by("-created_at", "-id").values("status")[:1]),
        ext_total=_connections(),
        ext_paused=_connections(status=ExternalConnection.Status.PAUSED),
        # Failing: still scheduled but its last run(s) failed (5 in a row pause it).
        ext_failing=_connections(
            status=ExternalConnection.Status.ACTIVE, consecutive_failures__gt=0
        ),
        ext_last_error=Subquery(
            last_error.order_by(F("last_run_at").desc(nulls_last=True)).values("last_error")[:1]
        ),
    )
    return annotated


class FailingSyncsFilter(admin.SimpleListFilter):
    title = "failing syncs"
    parameter_name = "failing"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Has failing syncs"), ("no", "No failing syncs")]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> Any:
        failed_run = Q(last_ghl_run_status=SyncRun.Status.FAILED)
        if self.value() == "yes":
            return queryset.filter(Q(ext_paused__gt=0) | Q(ext_failing__gt=0) | failed_run)
        if self.value() == "no":  # spelled out: NOT over a NULL run status would drop the row
            return queryset.filter(ext_paused=0, ext_failing=0).filter(
                Q(last_ghl_run_status__isnull=True) | ~failed_run
            )
        return queryset


class SyncDisabledFilter(admin.SimpleListFilter):
    title = "GHL sync"
    parameter_name = "sync"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("on", "On"), ("off", "Disabled or not set up")]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> Any:
        if self.value() == "on":
            return queryset.filter(location__ghl_sync__enabled=True)
        if self.value() == "off":  # agency-level connections have no sync of their own
            return queryset.filter(location__isnull=False).exclude(location__ghl_sync__enabled=True)
        return queryset


class LocationHealthAdmin(ConnectionHealthAdmin):
    """The "GHL connections" page with each location's sync health beside its install state."""

    list_display = [
        *ConnectionHealthAdmin.list_display[:-2],
        "ghl_sync",
        "last_ghl_sync",
        "external_syncs",
        "last_external_error",
        *ConnectionHealthAdmin.list_display[-2:],
    ]
    list_filter = [*ConnectionHealthAdmin.list_filter, FailingSyncsFilter, SyncDisabledFilter]

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        return health_annotate(super().get_queryset(request))

    @admin.display(description=gettext_lazy("GHL sync"))
    def ghl_sync(self, obj: Any) -> str:
        if obj.location_id is None:
            return ""
        if obj.ghl_sync_enabled is None:
            return "Not set up"
        state = "On" if obj.ghl_sync_enabled else "Off"
        failed = obj.last_ghl_run_status == SyncRun.Status.FAILED
        return f"{state} — last run failed" if failed else state

    @admin.display(description=gettext_lazy("Last GHL sync"), ordering="last_ghl_sync_at")
    def last_ghl_sync(self, obj: Any) -> Any:
        return obj.last_ghl_sync_at

    @admin.display(description=gettext_lazy("External syncs"))
    def external_syncs(self, obj: Any) -> str:
        if not obj.ext_total:
            return "—"
        problems = [f"{n} {what}" for n, what in ((obj.ext_paused, "paused"),
                                                  (obj.ext_failing, "failing")) if n]  # fmt: skip
        return f"{obj.ext_total} ({', '.join(problems)})" if problems else str(obj.ext_total)

    @admin.display(description=gettext_lazy("Last external sync error"))
    def last_external_error(self, obj: Any) -> str:
        error = obj.ext_last_error or ""
        return (error[:80] + "…") if len(error) > 80 else error
