"""Billing URLs on agency domains (mounted by saas_platform.urls)."""

from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("portal/<int:location_id>/", views.payment_portal, name="payment-portal"),
]
