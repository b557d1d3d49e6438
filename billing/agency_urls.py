"""The agency's billing pages (mounted by saas_platform.urls under ``app/agency/billing/``; every
view is wrapped by ``tenants.portal_agency.agency_page``)."""

from django.urls import URLPattern, path

from billing import agency_billing_views, agency_views

app_name = "agency_billing"

urlpatterns: list[URLPattern] = [
    path("plans/", agency_views.plans_page, name="plans"),
    path("plans/<int:plan_id>/", agency_views.plan_edit, name="plan-edit"),
    path("plans/<int:plan_id>/archive/", agency_views.plan_archive, name="plan-archive"),
    path("connect/", agency_views.connect_start, name="connect"),
    # The agency's own subscription to the platform's plans.
    path("", agency_billing_views.billing_page, name="billing"),
    path("subscribe/<int:plan_id>/", agency_billing_views.plan_subscribe, name="subscribe"),
    path("manage/", agency_billing_views.billing_manage, name="manage"),
]
