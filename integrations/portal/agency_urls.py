"""The agency's cross-location reports (mounted by saas_platform.urls under
``app/agency/reports/``; every view is wrapped by ``tenants.portal_agency.agency_page``)."""

from django.urls import URLPattern, path

from integrations.portal import agency_reports

app_name = "agency_reports"

urlpatterns: list[URLPattern] = [
    path("", agency_reports.reports, name="reports"),
    path("export.csv", agency_reports.reports_export, name="export"),
    path("export/<slug:table>/", agency_reports.reports_export, name="export-table"),
]
