"""Workspace pages of ``billing`` (mounted by saas_platform.urls under
``app/l/<int:location_id>/``; every view is wrapped by ``tenants.portal.location_page``)."""

from django.urls import URLPattern, path

from billing import portal_views

app_name = "workspace_billing"

urlpatterns: list[URLPattern] = [
    path("billing/", portal_views.billing_page, name="billing"),
    path(
        "billing/plans/<int:plan_id>/checkout/",
        portal_views.plan_checkout,
        name="plan-checkout",
    ),
]
