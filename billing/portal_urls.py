"""Workspace pages of ``billing`` (mounted by saas_platform.urls under
``app/l/<int:location_id>/``; every view is wrapped by ``tenants.portal.location_page``)."""

from django.urls import URLPattern, path

from billing import portal_payments, portal_views

app_name = "workspace_billing"

urlpatterns: list[URLPattern] = [
    path("billing/", portal_views.billing_page, name="billing"),
    path(
        "billing/plans/<int:plan_id>/checkout/",
        portal_views.plan_checkout,
        name="plan-checkout",
    ),
    path("payments/", portal_payments.payments_page, name="payments"),
    path("payments/rules/new/", portal_payments.rule_create, name="payment-rule-create"),
    path(
        "payments/rules/<int:automation_id>/",
        portal_payments.rule_edit,
        name="payment-rule",
    ),
    path(
        "payments/rules/<int:automation_id>/toggle/",
        portal_payments.rule_toggle,
        name="payment-rule-toggle",
    ),
]
