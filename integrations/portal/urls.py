"""Workspace pages of ``integrations`` (mounted by saas_platform.urls under
``app/l/<int:location_id>/``; every view is wrapped by ``tenants.portal.location_page``)."""

from django.urls import URLPattern

app_name = "workspace"

urlpatterns: list[URLPattern] = []

# Webhooks (integrations/portal/webhooks.py)
from django.urls import path  # noqa: E402

from . import webhooks  # noqa: E402

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
