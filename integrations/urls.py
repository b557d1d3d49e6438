"""Integration URLs on agency domains (mounted by saas_platform.urls)."""

from django.urls import path

from integrations.ghl import sso_views
from integrations.ghl import views as ghl

app_name = "integrations"

urlpatterns = [
    path("ghl/connect/", ghl.connect_start, name="ghl-connect"),
    path("sso/ghl/", sso_views.sso_page, name="ghl-sso"),
    path("sso/ghl/sign-in/", sso_views.sso_sign_in, name="ghl-sso-sign-in"),
]
