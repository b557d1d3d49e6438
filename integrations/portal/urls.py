"""Workspace pages of ``integrations`` (mounted by saas_platform.urls under
``app/l/<int:location_id>/``; every view is wrapped by ``tenants.portal.location_page``)."""

from django.urls import URLPattern, path

from . import contacts, dashboard

app_name = "workspace"

urlpatterns: list[URLPattern] = []

urlpatterns += [
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/export.csv", dashboard.dashboard_export, name="dashboard_export"),
    path("contacts/", contacts.contact_list, name="contacts"),
    path("contacts/<str:contact_id>/", contacts.contact_detail, name="contact"),
]
