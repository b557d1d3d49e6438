"""Workspace pages of ``integrations`` (mounted by saas_platform.urls under
``app/l/<int:location_id>/``; every view is wrapped by ``tenants.portal.location_page``)."""

from django.urls import URLPattern, path

from . import (
    appointments,
    contacts,
    dashboard,
    pipeline,
    routing,
    routing_agents,
    routing_insight,
    sync,
    sync_csv,
    webhooks,
)

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

# Routing (admins only).
urlpatterns += [
    path("routing/", routing.rules, name="routing"),
    path("routing/rules/new/", routing.rule_edit, name="routing_rule_new"),
    path("routing/rules/<int:rule_id>/", routing.rule_edit, name="routing_rule"),
    path("routing/rules/<int:rule_id>/toggle/", routing.rule_toggle, name="routing_rule_toggle"),
    path("routing/rules/<int:rule_id>/move/", routing.rule_reorder, name="routing_rule_move"),
    path("routing/rules/<int:rule_id>/delete/", routing.rule_remove, name="routing_rule_delete"),
    path("routing/agents/", routing_agents.agents, name="routing_agents"),
    path("routing/agents/new/", routing_agents.agent_edit, name="routing_agent_new"),
    path("routing/agents/<int:profile_id>/", routing_agents.agent_edit, name="routing_agent"),
    path(
        "routing/agents/<int:profile_id>/delete/",
        routing_agents.agent_remove,
        name="routing_agent_delete",
    ),
    path("routing/simulate/", routing_insight.simulate, name="routing_simulate"),
    path("routing/decisions/", routing_insight.decisions, name="routing_decisions"),
]

# Sync connections (admins only).
urlpatterns += [
    path("sync/", sync.connections, name="sync"),
    path("sync/new/<slug:kind>/", sync.connection_new, name="sync_connection_new"),
    path("sync/<int:connection_id>/", sync.connection_detail, name="sync_connection"),
    path("sync/<int:connection_id>/edit/", sync.connection_edit, name="sync_connection_edit"),
    path(
        "sync/<int:connection_id>/sync-now/", sync.connection_sync_now, name="sync_connection_run"
    ),
    path(
        "sync/<int:connection_id>/pause/", sync.connection_pause_view, name="sync_connection_pause"
    ),
    path(
        "sync/<int:connection_id>/resume/",
        sync.connection_resume_view,
        name="sync_connection_resume",
    ),
    path(
        "sync/<int:connection_id>/check/", sync.connection_check_view, name="sync_connection_check"
    ),
    path("sync/runs/<int:run_id>/progress/", sync.run_progress, name="sync_run_progress"),
    path("sync/conflicts/", sync.conflicts, name="sync_conflicts"),
    path(
        "sync/conflicts/<int:conflict_id>/resolve/",
        sync.conflict_resolve,
        name="sync_conflict_resolve",
    ),
    path("sync/csv/", sync_csv.csv_home, name="sync_csv"),
    path("sync/csv/contacts.csv", sync_csv.csv_export, name="sync_csv_export"),
    path("sync/csv/upload/", sync_csv.csv_upload, name="sync_csv_upload"),
    path(
        "sync/csv/imports/<int:import_id>/errors.csv", sync_csv.csv_report, name="sync_csv_report"
    ),
]

# Webhooks (integrations/portal/webhooks.py)
urlpatterns += [
    path("webhooks/", webhooks.endpoint_list, name="webhooks"),
    path("webhooks/new/", webhooks.endpoint_create, name="webhook_create"),
    path("webhooks/<int:endpoint_id>/", webhooks.endpoint_detail, name="webhook_endpoint"),
    path(
        "webhooks/<int:endpoint_id>/roll-secret/",
        webhooks.endpoint_secret_roll,
        name="webhook_secret_roll",
    ),
    path("webhooks/<int:endpoint_id>/test/", webhooks.endpoint_test, name="webhook_test"),
    path("webhooks/<int:endpoint_id>/delete/", webhooks.endpoint_delete, name="webhook_delete"),
    path(
        "webhooks/deliveries/<int:delivery_id>/",
        webhooks.delivery_detail,
        name="webhook_delivery",
    ),
    path(
        "webhooks/deliveries/<int:delivery_id>/replay/",
        webhooks.delivery_replay,
        name="webhook_replay",
    ),
]
