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

# The workspace's team and settings pages (tenants.portal_team, tenants.portal_settings).
from . import portal_settings, portal_team  # noqa: E402

urlpatterns += [
    path("app/l/<int:location_id>/team/", portal_team.team_page, name="team"),
    path(
        "app/l/<int:location_id>/team/members/<int:membership_id>/role/",
        portal_team.member_role,
        name="team-member-role",
    ),
    path(
        "app/l/<int:location_id>/team/members/<int:membership_id>/remove/",
        portal_team.member_remove,
        name="team-member-remove",
    ),
    path(
        "app/l/<int:location_id>/team/invitations/<int:invitation_id>/resend/",
        portal_team.invitation_send_again,
        name="team-invitation-resend",
    ),
    path(
        "app/l/<int:location_id>/team/invitations/<int:invitation_id>/cancel/",
        portal_team.invitation_withdraw,
        name="team-invitation-cancel",
    ),
    path("app/l/<int:location_id>/settings/", portal_settings.settings_page, name="settings"),
]
