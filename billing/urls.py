"""Billing URLs on agency domains (mounted by saas_platform.urls)."""

from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("checkout/<int:location_id>/<int:plan_id>/", views.checkout, name="checkout"),
    path("portal/<int:location_id>/", views.payment_portal, name="payment-portal"),
]
