"""URLs served on agency domains: the branded portal, its accounts, and the agency admin."""

from django.urls import include, path

from saas_platform.admin_sites import agency_site
from tenants.accounts import views as account_views

urlpatterns = [
    path("admin/", agency_site.urls),
    path("integrations/", include("integrations.urls")),
    # allauth's account pages, its MFA and the session list (settings: "portal accounts").
    # Shadows allauth's own confirmation route, which would accept any agency's key.
    path(
        "accounts/confirm-email/<str:key>/",
        account_views.confirm_email,
        name="account_confirm_email",
    ),
    path("accounts/", include("allauth.account.urls")),
    path("accounts/2fa/", include("allauth.mfa.urls")),
    path("accounts/sessions/", include("allauth.usersessions.urls")),
    path("billing/", include("billing.urls")),
    # The client workspace (tenants.portal): each app mounts its own pages under the location.
    path("app/l/<int:location_id>/", include("integrations.portal.urls")),
    path("app/l/<int:location_id>/", include("billing.portal_urls")),
    path("api/v1/", include("saas_platform.api_urls")),
    # The agency pages (tenants.portal_agency): billing's and integrations' own modules.
    path("app/agency/billing/", include("billing.agency_urls")),
    path("app/agency/reports/", include("integrations.portal.agency_urls")),
    path("", include("tenants.urls")),
]
