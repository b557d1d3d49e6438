"""Integration URLs on the platform's own host: what GHL calls (mounted by urls_platform)."""

from django.urls import path

from integrations.ghl import views as ghl

app_name = "integrations_platform"

urlpatterns = [
    path("ghl/oauth/callback", ghl.oauth_callback, name="ghl-oauth-callback"),
    path("ghl/webhooks", ghl.webhook, name="ghl-webhook"),
]
