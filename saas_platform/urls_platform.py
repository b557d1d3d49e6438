"""URLs served on the platform's own hosts: the staff admin and platform endpoints."""

from django.urls import include, path

from saas_platform import health, metrics, views
from saas_platform.admin_sites import staff_site

urlpatterns = [
    path("admin/", staff_site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("integrations/", include("integrations.urls_platform")),
    path("billing/", include("billing.urls_platform")),
    path("", views.platform_home, name="platform-home"),
]
