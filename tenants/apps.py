from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _

# allauth assumes one platform-wide account per email when email is the login. Ours are unique per
# agency (the User constraints, the realm backend, the realm-scoped forms in tenants.accounts), so
# that one message is dropped from allauth's settings check; every other one still runs.
PER_REALM_EMAIL = "Using email as a login method requires ACCOUNT_UNIQUE_EMAIL"


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants"

    def ready(self) -> None:
        from allauth.account import checks as allauth_checks

        from .accounts import realm  # noqa: F401 — connects the login signal receiver
        from .caches import connect_receivers

        connect_receivers()

        original = allauth_checks.settings_check

        def settings_check(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
            return [m for m in original(app_configs, **kwargs) if m.msg != PER_REALM_EMAIL]

        registry = checks.registry.registry
        registry.registered_checks.discard(original)
        registry.register(settings_check)

        from .portal import Section, register_section

        register_section(Section("team", _("Team"), "portal:team", access="admin", order=80))
        register_section(
            Section("settings", _("Settings"), "portal:settings", access="admin", order=90)
        )
        register_section(Section("api_keys", _("API keys"), "portal:api-keys", "admin", 85))

        # The agency pages' side navigation (tenants.portal_agency).
        from .portal_agency import AgencySection, register_agency_section

        register_agency_section(
            AgencySection("overview", _("Locations"), "portal:agency", order=10)
        )
        register_agency_section(
            AgencySection("branding", _("Branding"), "portal:agency-branding", order=40)
        )
        register_agency_section(
            AgencySection("domains", _("Domains"), "portal:agency-domains", order=50)
        )
