"""Workspace pages of ``integrations`` (mounted by saas_platform.urls under
``app/l/<int:location_id>/``; every view is wrapped by ``tenants.portal.location_page``)."""

from django.urls import URLPattern, path

from . import appointments, contacts, dashboard, pipeline

app_name = "workspace"

urlpatterns: list[URLPattern] = []

urlpatterns += [
    path("pipeline/", pipeline.pipeline_page, name="pipeline"),
    path(
        "pipeline/opportunities/<str:opportunity_id>/move/",
        pipeline.opportunity_move_view,
        name="opportunity_move",
    ),
    path("appointments/", appointments.appointments_page, name="appointments"),
    path("appointments/book/", appointments.appointment_book_page, name="appointment_book"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/export.csv", dashboard.dashboard_export, name="dashboard_export"),
    path("contacts/", contacts.contact_list, name="contacts"),
    path("contacts/<str:contact_id>/", contacts.contact_detail, name="contact"),
]
