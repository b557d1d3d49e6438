"""The workspace dashboard: the location's reports (the same page content the agency admin's
dashboard shows for one location, from `integrations.reporting.pages`), and its CSV export.

The agency's P&L table is left out. A location whose plan leaves reports out (or whose billing
is paused) sees an upsell instead; one without a plan through us at all sees its reports, as
before billing existed.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from integrations.bulk.csv_table import BOM, csv_lines
from integrations.mirror.models import MirrorContact
from integrations.reporting.pages import Page, dashboard_page
from integrations.reporting.tables import table_csv
from tenants.entitlements import FeatureAccess, location_access
from tenants.models import Location
from tenants.portal import location_page

TEMPLATE = "portal/dashboard.html"
AGENCY_ONLY_TABLES = frozenset({"pnl"})


def reports_access(*, location: Location) -> FeatureAccess:
    """Whether the location may see its reports (the rule lives in `tenants.entitlements`)."""
    return location_access(location=location, feature="reports")


def location_dashboard_page(request: HttpRequest, location: Location) -> Page:
    """The page for this location only: whatever `location` the query names is replaced, so
    the agency-wide view cannot be reached from a client's workspace."""
    query = {key: request.GET.get(key, "") for key in request.GET}
    query["location"] = str(location.pk)
    query.pop("agency", None)
    # The request's agency is the location's: location_page resolved the location through it.
    agency = request.agency  # type: ignore[attr-defined]
    page = dashboard_page(
        agency=agency, locations=[location], query=query, colour=agency.branding.primary_color
    )
    page.query.pop("location", None)  # implied by the URL; kept out of the page's links
    # The P&L is the agency's view of a client (what the client pays it), not the client's.
    page.tables = [table for table in page.tables if table.key not in AGENCY_ONLY_TABLES]
    return page


def _has_activity(page: Page) -> bool:
    board = page.board
    if board is None:
        return True  # an error is shown instead
    return bool(
        board.total_leads
        or board.pipeline_by_stage
        or board.appointments.booked
        or board.win_rate.opened
        or board.routing
    )


@require_GET
@location_page(section="dashboard")
def dashboard(request: HttpRequest, location: Location) -> HttpResponse:
    access = reports_access(location=location)
    if not access.allowed:
        return render(request, TEMPLATE, {"access": access, "location": location})
    page = location_dashboard_page(request, location)
    # No figures in the period: a location with no contacts at all gets the welcome state.
    first_run = not _has_activity(page) and not (
        MirrorContact.objects.for_location(location).exists()
    )
    context = {"access": access, "page": page, "first_run": first_run, "location": location}
    return render(request, TEMPLATE, context, status=400 if page.error else 200)


@require_GET
@location_page(section="dashboard")
def dashboard_export(request: HttpRequest, location: Location) -> HttpResponse:
    """The tables shown on the dashboard as CSV: one (`?table=<key>`) or all of them, each
    under its title, with the page's period and filters."""
    if not reports_access(location=location).allowed:
        raise Http404
    page = location_dashboard_page(request, location)
    if page.error or page.period is None or page.board is None:
        return HttpResponse(page.error, status=400, content_type="text/plain; charset=utf-8")
    wanted = request.GET.get("table", "")
    if wanted:
        tables = [t for t in page.tables if t.key == wanted]
        if not tables:
            raise Http404
        body = table_csv(tables[0])
    else:
        body = "".join(
            csv_lines([(table.title,), table.headers, *table.rows, ()]) for table in page.tables
        )
    response = HttpResponse((BOM + body).encode(), content_type="text/csv; charset=utf-8")
    stem = slugify(
        f"{location.name}-{wanted or 'dashboard'}-{page.period.date_from}-{page.period.date_to}"
    )
    response["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
    return response
