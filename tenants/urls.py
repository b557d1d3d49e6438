from django.urls import path

from . import views
from .accounts import views as account_views
from .api import portal_views as api_portal

app_name = "portal"

# Sign-in, sign-up and the rest of the account pages are allauth's, under /accounts/
# (saas_platform/urls.py); this is the portal itself.
urlpatterns = [
    path("", views.landing, name="landing"),
    path(
        "accounts/invitation/<str:token>/",
        account_views.invitation_accept,
        name="invitation-accept",
    ),
    path("app/", views.home, name="home"),
    path("app/l/<int:location_id>/", views.location_home, name="location"),
    path("app/l/<int:location_id>/api-keys/", api_portal.api_keys, name="api-keys"),
    path(
        "app/l/<int:location_id>/api-keys/<int:key_id>/revoke/",
        api_portal.api_key_revoke_view,
        name="api-key-revoke",
    ),
]
