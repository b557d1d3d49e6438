"""Workspace pages of ``billing`` (mounted by saas_platform.urls under
``app/l/<int:location_id>/``; every view is wrapped by ``tenants.portal.location_page``)."""

from django.urls import URLPattern

app_name = "workspace_billing"

urlpatterns: list[URLPattern] = []
