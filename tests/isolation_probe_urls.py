"""A URLconf with one pattern the isolation matrix knows nothing about (for the gate's own test)."""

from django.http import HttpResponse
from django.urls import include, path

urlpatterns = [
    path("", include("saas_platform.urls")),
    path("app/reports/export/", lambda request: HttpResponse("rows")),
]
