"""Integration URLs on agency domains (mounted by saas_platform.urls)."""

from django.urls import path

from integrations.ghl import views as ghl

app_name = "integrations"

urlpatterns = [
    path("ghl/connect/", ghl.connect_start, name="ghl-connect"),
]
