"""The Location list's "Apply a routing template…" and "Apply a report template…": an intermediate
page choosing the template location (one of the agency's), then a bulk job
(`integrations.bulk.location_templates` says what each copies and how it is translated)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _

from tenants.admin.scoping import agency_of
from tenants.models import Location

from .bulk.models import BulkJob


class TemplateLocationForm(forms.Form):
    template = forms.ModelChoiceField(
        queryset=Location.objects.none(), label=_("Template location")
    )

    def __init__(self, *args: Any, agency: Any, help_text: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the agency's own locations: another agency's id is "not a valid choice".
        field: forms.ModelChoiceField[Location] = self.fields["template"]  # type: ignore[assignment]
        field.queryset = Location.objects.for_agency(agency).order_by("name", "pk")
        field.help_text = help_text


ROUTING_HELP = (
    "Its enabled rules are copied, in order, after each selected location's own rules: agents "
    "become the location's active agents, pack custom fields and pipelines the location's own "
    "of the same pack field or name. Applying it again replaces the rules it copied before."
)
REPORT_HELP = (
    "Its e-mail report schedule (frequency and recipients) is copied to each location. Named "
    "recipients then get every selected location's report: check they may see them all."
)


class LocationTemplateActionMixin:
    """For `BulkLocationAdmin`, whose `_start` starts the job and opens its page."""

    admin_site: admin.AdminSite
    model: Any
    _start: Any

    def _apply_location_template(
        self,
        request: HttpRequest,
        queryset: models.QuerySet[Any],
        *,
        action_name: str,
        kind: str,
        help_text: str,
    ) -> HttpResponse | None:
        agency = agency_of(request)
        form = TemplateLocationForm(
            request.POST if "apply" in request.POST else None, agency=agency, help_text=help_text
        )
        if form.is_bound and form.is_valid():
            params = {"template_location_id": form.cleaned_data["template"].pk}
            started: HttpResponse | None = self._start(request, queryset, kind, params)
            return started
        title = BulkJob.Kind(kind).label
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "lead": f"{title}: the chosen location's settings are copied to these locations "
            "(the template itself, if selected, is skipped):",
            "opts": self.model._meta,
            "form": form,
            "locations": queryset,
            "action_name": action_name,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "select_across": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(
            request, "admin/integrations/bulkjob/apply_location_template.html", context
        )

    @admin.action(description=gettext_lazy("Apply a routing template…"), permissions=["change"])
    def apply_routing_template(
        self, request: HttpRequest, queryset: models.QuerySet[Any]
    ) -> HttpResponse | None:
        return self._apply_location_template(
            request,
            queryset,
            action_name="apply_routing_template",
            kind=BulkJob.Kind.APPLY_ROUTING_TEMPLATE,
            help_text=ROUTING_HELP,
        )

    @admin.action(description=gettext_lazy("Apply a report template…"), permissions=["change"])
    def apply_report_template(
        self, request: HttpRequest, queryset: models.QuerySet[Any]
    ) -> HttpResponse | None:
        return self._apply_location_template(
            request,
            queryset,
            action_name="apply_report_template",
            kind=BulkJob.Kind.APPLY_REPORT_TEMPLATE,
            help_text=REPORT_HELP,
        )
