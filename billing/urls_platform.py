"""Billing URLs on the platform's own host: what Stripe calls (mounted by urls_platform)."""

from django.urls import path

from billing import views

app_name = "billing_platform"

urlpatterns = [
    path("stripe/webhooks", views.platform_webhook, name="stripe-webhook"),
    path("stripe/connect-webhooks", views.connect_webhook, name="stripe-connect-webhook"),
]
