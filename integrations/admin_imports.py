"""Admin screens of contact CSV imports: upload → map the columns → queued; the list with live
progress, Resume, and each import's error report as a CSV download.

Between the upload and the confirmation the file waits in the cache (an hour at most, bound to
the agency and the person), not in the database: a file nobody confirms leaves nothing behind."""

from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import slugify
from django.utils.translation import gettext_lazy, ngettext
from django.utils.translation import gettext_lazy as _

from saas_platform.kernel.errors import ApplicationError
from tenants.admin.scoping import AgencyRelatedFilter, AgencyScopedAdmin, agency_of, can_change
from tenants.models import Location
from tenants.request import actor

from .bulk import csv_io
from .bulk.csv_table import BOM, MAX_UPLOAD_BYTES, CsvTable
from .bulk.models import ContactImport

REFRESH_SECONDS = 3
PENDING_SECONDS = 3600
ACTIVE = (ContactImport.Status.QUEUED, ContactImport.Status.RUNNING)


class UploadForm(forms.Form):
    location = forms.ModelChoiceField(queryset=Location.objects.none())
    file = forms.FileField(
        help_text=_(
            "A CSV file (comma, semicolon or tab separated) with a header row, at most "
            "%(value)s MB."
        )
        % {"value": MAX_UPLOAD_BYTES // (1024 * 1024)}
    )

    def __init__(self, *args: Any, locations: models.QuerySet[Location], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = locations  # type: ignore[attr-defined]

    def clean_file(self) -> bytes:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:  # refused before reading it
            raise forms.ValidationError(
                _(
                    "The file is %(value)s MB; the limit is %(value2)s MB. Split it into smaller "
                    "files."
                )
                % {
                    "value": format(upload.size / 1000000.0, ".1f"),
                    "value2": MAX_UPLOAD_BYTES // (1024 * 1024),
                }
            )
        content: bytes = upload.read()
        try:
            csv_io.contact_import_inspect(content=content)  # refuses a file that cannot work
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc
        self.file_name = upload.name
        return content


class MappingForm(forms.Form):
    """One select per column of the file: the GHL field it fills, or nothing."""

    token = forms.CharField(widget=forms.HiddenInput)

    def __init__(
        self, *args: Any, headers: list[str], targets: list[tuple[str, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.headers = headers
        choices = [("", "— ignore —"), *targets]
        for index, header in enumerate(headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header, choices=choices, required=False
            )

    def mapping(self) -> dict[str, str]:
        return {h: self.cleaned_data.get(f"col_{i}") or "" for i, h in enumerate(self.headers)}


class ContactImportAdmin(AgencyScopedAdmin):
    agency_path = "location__agency"
    list_display = ["file_name", "location", "status", "progress", "created", "updated",
                    "unchanged", "failed_rows", "created_at"]  # fmt: skip
    list_filter = ["status", ("location", AgencyRelatedFilter)]
    list_select_related = ["location"]
    # `content` (people's data) is never shown.
    fields = readonly_fields = ("file_name", "location", "status", "progress", "total_rows",
                                "created", "updated", "unchanged", "failed_rows", "columns",
                                "error", "report", "created_by", "created_at", "started_at",
                                "finished_at")  # fmt: skip
    actions = ["resume"]

    # --- list and detail --------------------------------------------------------------------

    @admin.display(description=gettext_lazy("Progress"))
    def progress(self, obj: ContactImport) -> str:
        return format_html(
            '<progress max="100" value="{}" aria-label="{}%">{}%</progress> {} / {} rows',
            obj.percent,
            obj.percent,
            obj.percent,
            f"{obj.done_rows:,}",
            f"{obj.total_rows:,}",
        )

    @admin.display(description=gettext_lazy("Unchanged"))
    def unchanged(self, obj: ContactImport) -> int:
        """Rows GHL already held as they are (and blank lines): not sent."""
        return max(0, obj.done_rows - obj.created - obj.updated - obj.failed_rows)

    @admin.display(description=gettext_lazy("Mapping"))
    def columns(self, obj: ContactImport) -> str:
        return ", ".join(f"{column} → {target}" for column, target in obj.mapping.items())

    @admin.display(description=gettext_lazy("Error report"))
    def report(self, obj: ContactImport) -> str:
        if not obj.error_report:
            return "—"
        url = reverse(f"{self.admin_site.name}:integrations_contactimport_report", args=[obj.pk])
        return format_html('<a href="{}">Download error report ({} rows)</a>', url, obj.failed_rows)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # nothing of an import is edited: the detail page is read-only

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_change(request) and (obj is None or obj.status not in ACTIVE)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one at a time, never a running import
        return actions

    def _refresh(self, request: HttpRequest, extra_context: Any, active: bool) -> dict[str, Any]:
        return {**(extra_context or {}), "refresh_seconds": REFRESH_SECONDS if active else None}

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        active = self.get_queryset(request).filter(status__in=ACTIVE).exists()
        return super().changelist_view(request, self._refresh(request, extra_context, active))

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        obj = self.get_object(request, object_id)
        context = self._refresh(request, extra_context, obj.status in ACTIVE)
        return super().change_view(request, object_id, form_url, context)

    @admin.action(description=gettext_lazy("Resume (continue after the rows already imported)"))
    def resume(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        if not can_change(request):
            raise PermissionDenied
        resumed = 0
        for job in queryset.select_related("location"):
            try:
                csv_io.contact_import_resume(contact_import=job)
                resumed += 1
            except ApplicationError as error:
                self.refuse(request, error)
        if resumed:
            self.message_user(
                request,
                ngettext(
                    "%(resumed)s import queued again.", "%(resumed)s imports queued again.", resumed
                )
                % {"resumed": resumed},
                messages.SUCCESS,
            )

    # --- the error report -------------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        report = path(
            "<path:object_id>/report/",
            self.admin_site.admin_view(self.report_view),
            name="integrations_contactimport_report",
        )
        return [report, *super().get_urls()]  # before `<path:object_id>/`, which would take it

    def report_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj = self.get_object(request, object_id)  # another agency's import: 404
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        if not obj.error_report:
            raise Http404
        response = HttpResponse(
            (BOM + obj.error_report).encode(), content_type="text/csv; charset=utf-8"
        )
        stem = slugify(obj.file_name.rsplit(".", 1)[0]) or "import"  # safe in a header
        response["Content-Disposition"] = f'attachment; filename="{stem}-errors.csv"'
        return response

    # --- adding: upload, then map ----------------------------------------------------------

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "POST" and "token" in request.POST:
            return self._confirm(request)
        locations = Location.objects.for_agency(agency_of(request))
        form = UploadForm(request.POST or None, request.FILES or None, locations=locations)
        if request.method == "POST" and form.is_valid():
            token = secrets.token_urlsafe(24)
            pending = {
                "agency": agency_of(request).pk,
                "user": request.user.pk,
                "location": form.cleaned_data["location"].pk,
                "file_name": form.file_name,
                "content": form.cleaned_data["file"],
            }
            cache.set(self._key(token), pending, PENDING_SECONDS)
            mapping, table = self._mapping_form(request, pending, token=token)
            return self._render_mapping(request, mapping, pending, table)
        context = {**self._context(request, "Import contacts from a CSV file"), "form": form}
        return TemplateResponse(request, "admin/integrations/contactimport/upload.html", context)

    @staticmethod
    def _key(token: str) -> str:
        return f"contact-import-upload:{token}"

    def _pending(self, request: HttpRequest, token: str) -> dict[str, Any] | None:
        pending: dict[str, Any] | None = cache.get(self._key(token))
        owner = (agency_of(request).pk, request.user.pk)
        if pending is None or (pending["agency"], pending["user"]) != owner:
            return None
        return pending

    def _location(self, request: HttpRequest, pending: dict[str, Any]) -> Location:
        location: Location = Location.objects.for_agency(agency_of(request)).get(
            pk=pending["location"]
        )
        return location

    def _mapping_form(
        self, request: HttpRequest, pending: dict[str, Any], *, token: str, data: Any = None
    ) -> tuple[MappingForm, CsvTable]:
        preview = csv_io.contact_import_inspect(content=pending["content"])
        headers = preview.table.headers
        targets = csv_io.mapping_targets(location=self._location(request, pending))
        known = {value for value, _ in targets}
        # A column named custom:<id> that no mirrored contact uses yet is still offered.
        targets += [(t, t) for t in preview.suggested.values() if t and t not in known]
        initial = {"token": token} | {
            f"col_{i}": preview.suggested[h] for i, h in enumerate(headers)
        }
        form = MappingForm(data, initial=initial, headers=headers, targets=targets)
        return form, preview.table

    def _confirm(self, request: HttpRequest) -> HttpResponse:
        token = request.POST.get("token", "")
        pending = self._pending(request, token)
        if pending is None:
            self.message_user(
                request, _("The upload expired or is not yours; upload the file again."),
                messages.ERROR,
            )  # fmt: skip
            return HttpResponseRedirect(request.path)
        form, table = self._mapping_form(request, pending, token=token, data=request.POST)
        if form.is_valid():
            try:
                job = csv_io.contact_import_start(
                    location=self._location(request, pending),
                    file_name=pending["file_name"],
                    content=pending["content"],
                    mapping=form.mapping(),
                    acting_user=actor(request),
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                cache.delete(self._key(token))
                self.message_user(
                    request,
                    _("%(file_name)s: %(total_rows)s rows queued for import.")
                    % {"file_name": job.file_name, "total_rows": format(job.total_rows, ",")},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse(f"{self.admin_site.name}:integrations_contactimport_changelist")
                )
        return self._render_mapping(request, form, pending, table)

    def _render_mapping(
        self, request: HttpRequest, form: MappingForm, pending: dict[str, Any], table: CsvTable
    ) -> HttpResponse:
        samples = [
            [row[i] if i < len(row) else "" for row in table.rows[:3]]
            for i in range(len(table.headers))
        ]
        context = {
            **self._context(request, "Match the columns to GHL fields"),
            "form": form,
            "columns": list(
                zip([form[f"col_{i}"] for i in range(len(samples))], samples, strict=True)
            ),
            "file_name": pending["file_name"],
            "location": self._location(request, pending),
            "rows": table.data_rows(),
            "delimiter": {",": "comma", ";": "semicolon", "\t": "tab"}[table.delimiter],
            "note": table.note,
        }
        return TemplateResponse(request, "admin/integrations/contactimport/mapping.html", context)

    def _context(self, request: HttpRequest, title: str) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "has_view_permission": True,
        }
