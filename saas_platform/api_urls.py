"""The REST API's URLs (``/api/v1/`` on agency domains; docs/api.md). Each app's resources are
mounted here, so tenants and integrations need not know each other."""

from typing import Any

from django.urls import path, re_path

from billing.api.resources import PlanViewSet, SubscriptionViewSet
from integrations.api.appointments import AppointmentViewSet
from integrations.api.contacts import ContactViewSet
from integrations.api.pipelines import OpportunityViewSet, PipelineViewSet
from integrations.api.reports import AgencyReportViewSet, LocationReportViewSet
from integrations.api.routing import RoutingDecisionViewSet, RoutingRuleViewSet
from integrations.api.sync import ConnectionViewSet, SyncRunViewSet
from saas_platform.kernel.api.errors import api_not_found
from tenants.api import docs
from tenants.api.resources import AuditLogViewSet, LocationViewSet

LIST: dict[str, Any] = {"get": "list"}
DETAIL: dict[str, Any] = {"get": "retrieve"}
CONTACTS: dict[str, Any] = {"get": "list", "post": "create"}
CONTACT: dict[str, Any] = {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}

urlpatterns = [
    path("schema/", docs.SchemaView.as_view(), name=docs.SCHEMA_URL_NAME),
    path("docs/", docs.SwaggerView.as_view(), name="api-docs"),
    path("redoc/", docs.RedocView.as_view(), name="api-redoc"),
    path("locations/", LocationViewSet.as_view(LIST), name="api-location-list"),
    path("locations/<int:pk>/", LocationViewSet.as_view(DETAIL), name="api-location-detail"),
    path(
        "locations/<int:location_id>/contacts/",
        ContactViewSet.as_view(CONTACTS),
        name="api-contact-list",
    ),
    path(
        "locations/<int:location_id>/contacts/<str:contact_id>/",
        ContactViewSet.as_view(CONTACT),
        name="api-contact-detail",
    ),
    path("audit-log/", AuditLogViewSet.as_view(LIST), name="api-audit-list"),
    path("audit-log/<int:pk>/", AuditLogViewSet.as_view(DETAIL), name="api-audit-detail"),
    *[
        # the second part of the API (issue #10): every resource under a location first
        path(f"locations/<int:location_id>/{suffix}", view, name=name)
        for suffix, view, name in (
            ("pipelines/", PipelineViewSet.as_view(LIST), "api-pipeline-list"),
            (
                "pipelines/<str:pipeline_id>/",
                PipelineViewSet.as_view(DETAIL),
                "api-pipeline-detail",
            ),
            ("opportunities/", OpportunityViewSet.as_view(LIST), "api-opportunity-list"),
            (
                "opportunities/<str:opportunity_id>/",
                OpportunityViewSet.as_view(DETAIL),
                "api-opportunity-detail",
            ),
            (
                "opportunities/<str:opportunity_id>/move/",
                OpportunityViewSet.as_view({"post": "move"}),
                "api-opportunity-move",
            ),
            (
                "appointments/",
                AppointmentViewSet.as_view({"get": "list", "post": "create"}),
                "api-appointment-list",
            ),
            (
                "appointments/<str:appointment_id>/",
                AppointmentViewSet.as_view(DETAIL),
                "api-appointment-detail",
            ),
            (
                "routing/rules/",
                RoutingRuleViewSet.as_view({"get": "list", "post": "create"}),
                "api-routing-rule-list",
            ),
            (
                "routing/rules/<int:rule_id>/",
                RoutingRuleViewSet.as_view(
                    {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
                ),
                "api-routing-rule-detail",
            ),
            (
                "routing/decisions/",
                RoutingDecisionViewSet.as_view(LIST),
                "api-routing-decision-list",
            ),
            (
                "routing/decisions/<int:decision_id>/",
                RoutingDecisionViewSet.as_view(DETAIL),
                "api-routing-decision-detail",
            ),
            (
                "routing/route/",
                RoutingDecisionViewSet.as_view({"post": "create"}),
                "api-routing-route",
            ),
            ("sync/connections/", ConnectionViewSet.as_view(LIST), "api-connection-list"),
            (
                "sync/connections/<int:connection_id>/",
                ConnectionViewSet.as_view(DETAIL),
                "api-connection-detail",
            ),
            (
                "sync/connections/<int:connection_id>/sync/",
                ConnectionViewSet.as_view({"post": "sync"}),
                "api-connection-sync",
            ),
            ("sync/runs/", SyncRunViewSet.as_view(LIST), "api-sync-run-list"),
            ("sync/runs/<int:run_id>/", SyncRunViewSet.as_view(DETAIL), "api-sync-run-detail"),
            (
                "reports/dashboard/",
                LocationReportViewSet.as_view({"get": "dashboard"}),
                "api-location-dashboard",
            ),
        )
    ],
    path(
        "reports/dashboard/",
        AgencyReportViewSet.as_view({"get": "dashboard"}),
        name="api-agency-dashboard",
    ),
    path("plans/", PlanViewSet.as_view(LIST), name="api-plan-list"),
    path("plans/<int:pk>/", PlanViewSet.as_view(DETAIL), name="api-plan-detail"),
    path("subscriptions/", SubscriptionViewSet.as_view(LIST), name="api-subscription-list"),
    path(
        "subscriptions/<int:pk>/",
        SubscriptionViewSet.as_view(DETAIL),
        name="api-subscription-detail",
    ),
    # Last: any other path under /api/v1/ is a 404 in the error envelope.
    re_path(r"^[\s\S]*$", api_not_found, name="api-not-found"),  # a newline too
]
