"""Reports in the admin sites: each location's e-mail report schedule, and the dashboards.

The dashboards hang off the schedule's admin (`…/reportschedule/dashboard/`) so both sites get
them with one registration each. The agency admin sees its own agency's locations and their
cross-location dashboard; an operator on the staff admin picks any agency. A location outside the
visitor's agency is refused like a missing one. The page content comes from
`integrations.reporting.pages`, which the branded portal can reuse.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.core.validators import validate_email
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from tenants.admin.scoping import AgencyScopedAdmin, StaffAdminMixin, agency_of
from tenants.models import Agency, Location
from tenants.request import actor

from .bulk.csv_table import BOM
from .reporting.email import report_schedule_save
from .reporting.models import ReportSchedule
from .reporting.pages import Page, dashboard_page
from .reporting.tables import table_csv

TEMPLATE = "admin/integrations/reportschedule/dashboard.html"


class ReportScheduleForm(forms.ModelForm[ReportSchedule]):
    class Meta:
        model = ReportSchedule
        fields = ["location", "frequency", "recipients"]
        widgets = {"recipients": forms.Textarea(attrs={"rows": 3})}

    def clean_recipients(self) -> str:
        raw = self.cleaned_data["recipients"]
        addresses = [part.strip() for part in raw.replace(",", "\n").splitlines() if part.strip()]
        for address in addresses:
            try:
                validate_email(address)
            except forms.ValidationError:
                raise forms.ValidationError(
                    _("“%(value)s” is not an e-mail address.") % {"value": address[:80]}
                ) from None
        if len(addresses) > 50:
            raise forms.ValidationError(_("At most 50 recipients."))
        return "\n".join(addresses)


class ReportScheduleAdmin(AgencyScopedAdmin):
    agency_path = "location__agency"
    form = ReportScheduleForm
    list_display = ["location", "frequency", "recipient_list", "next_send_at", "last_sent_at"]
    list_filter = ["frequency"]
    readonly_fields = ["next_send_at", "last_sent_at"]
    change_list_template = "admin/integrations/reportschedule/change_list.html"

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        changes = {
            name: (form.initial.get(name), form.cleaned_data.get(name))
            for name in form.changed_data
        }
        report_schedule_save(schedule=obj, acting_user=actor(request), changes=changes)

    @staticmethod
    def recipient_list(obj: ReportSchedule) -> str:
        return ", ".join(obj.recipients.split()) or "the agency's owners and admins"

    # --- the dashboards -----------------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        return [
            path(
                "dashboard/",
                self.admin_site.admin_view(self.dashboard_view),
                name="integrations_reportschedule_dashboard",
            ),
            path(
                "dashboard/export/<slug:table>/",
                self.admin_site.admin_view(self.export_view),
                name="integrations_reportschedule_export",
            ),
            *super().get_urls(),
        ]

    def dashboard_agency(self, request: HttpRequest) -> tuple[Agency, list[Agency]]:
        """The agency whose figures are shown, and the agencies the visitor may choose from."""
        agency = agency_of(request)
        return agency, []

    def _page(self, request: HttpRequest) -> tuple[Page, Agency, list[Agency]]:
        if not self.has_view_permission(request):
            raise PermissionDenied
        agency, agencies = self.dashboard_agency(request)
        locations = list(Location.objects.for_agency(agency).order_by("name", "pk"))
        colour = agency.branding.primary_color
        return (
            dashboard_page(agency=agency, locations=locations, query=request.GET, colour=colour),
            agency,
            agencies,
        )

    def dashboard_view(self, request: HttpRequest) -> HttpResponse:
        page, agency, agencies = self._page(request)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Reports: {page.board.title if page.board else agency.name}",
            "page": page,
            "agency": agency,
            "agencies": agencies,
        }
        return TemplateResponse(request, TEMPLATE, context, status=400 if page.error else 200)

    def export_view(self, request: HttpRequest, table: str) -> HttpResponse:
        page, _agency, _agencies = self._page(request)
        if page.error:
            return HttpResponse(page.error, status=400, content_type="text/plain; charset=utf-8")
        found = next((t for t in page.tables if t.key == table), None)
        if found is None or page.period is None or page.board is None:
            raise Http404
        response = HttpResponse(
            (BOM + table_csv(found)).encode(), content_type="text/csv; charset=utf-8"
        )
        stem = slugify(f"{page.board.title}-{table}-{page.period.date_from}-{page.period.date_to}")
        response["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
        return response


class StaffReportScheduleAdmin(StaffAdminMixin, ReportScheduleAdmin):
    """Operators: every location's schedule, and any agency's dashboard (`?agency=<id>`)."""

    def dashboard_agency(self, request: HttpRequest) -> tuple[Agency, list[Agency]]:
        agencies = list(Agency.objects.select_related("branding").order_by("name", "pk"))
        if not agencies:
            raise Http404
        raw = request.GET.get("agency", "")
        chosen = next((a for a in agencies if str(a.pk) == raw), None) if raw else agencies[0]
        if chosen is None:
            raise Http404
        return chosen, agencies
