"""URLs served on the platform's own hosts: the staff admin and platform endpoints."""

from django.urls import include, path

from saas_platform import views
from saas_platform.admin_sites import staff_site

urlpatterns = [
    path("admin/", staff_site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("integrations/", include("integrations.urls_platform")),
    path("billing/", include("billing.urls_platform")),
    path("", views.platform_home, name="platform-home"),
]
