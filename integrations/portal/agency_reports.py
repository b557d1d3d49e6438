"""Cross-location reports on the agency pages (``/app/agency/reports/``): the agency dashboard of
``integrations.reporting.pages`` (the one the agency admin shows) for every location of the
agency, or one of them, with its CSV exports. Agency staff may read it."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from integrations.bulk.csv_table import BOM, csv_lines
from integrations.reporting.pages import Page, dashboard_page
from integrations.reporting.tables import table_csv
from tenants.models import Agency, Location
from tenants.portal_agency import agency_page


def _page(request: HttpRequest, agency: Agency) -> Page:
    # Only the agency's own locations can be chosen; any other id is refused as a bad filter.
    locations = list(Location.objects.for_agency(agency).order_by("name", "pk"))
    query = {key: request.GET.get(key, "") for key in request.GET}
    query.pop("agency", None)
    return dashboard_page(
        agency=agency, locations=locations, query=query, colour=agency.branding.primary_color
    )


@require_GET
@agency_page(section="reports")
def reports(request: HttpRequest, agency: Agency) -> HttpResponse:
    page = _page(request, agency)
    export_base = reverse("agency_reports:export-table", kwargs={"table": "TABLE"})
    context = {"page": page, "export_base": export_base}
    return render(request, "portal/agency/reports.html", context, status=400 if page.error else 200)


def _csv(body: str, stem: str) -> HttpResponse:
    response = HttpResponse((BOM + body).encode(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slugify(stem)}.csv"'
    return response


@require_GET
@agency_page(section="reports")
def reports_export(request: HttpRequest, agency: Agency, table: str = "") -> HttpResponse:
    """Every table of the page as one CSV (each under its title), or the one named."""
    page = _page(request, agency)
    if page.error or page.period is None:
        return HttpResponse(page.error, status=400, content_type="text/plain; charset=utf-8")
    span = f"{page.period.date_from}-{page.period.date_to}"
    if table:
        chosen = [t for t in page.tables if t.key == table]
        if not chosen:
            raise Http404
        return _csv(table_csv(chosen[0]), f"{agency.name}-{table}-{span}")
    body = "".join(csv_lines([(t.title,), t.headers, *t.rows, ()]) for t in page.tables)
    return _csv(body, f"{agency.name}-reports-{span}")
