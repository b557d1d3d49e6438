"""URLs served on agency domains: the branded portal and the agency admin."""

from django.urls import include, path

from saas_platform.admin_sites import agency_site

urlpatterns = [
    path("admin/", agency_site.urls),
    path("integrations/", include("integrations.urls")),
    path("billing/", include("billing.urls")),
    path("", include("tenants.urls")),
]
