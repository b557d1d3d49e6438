from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        # Inbox handlers and signal receivers register themselves on import.
        from integrations.connectors import receivers as connector_receivers  # noqa: F401
        from integrations.ghl import handlers  # noqa: F401
        from integrations.payments import receivers as payment_receivers  # noqa: F401
        from integrations.reporting import receivers as reporting_receivers  # noqa: F401
        from integrations.routing import receivers as routing_receivers  # noqa: F401
        from integrations.sync import receivers, webhooks  # noqa: F401
        from integrations.webhooks_out import receivers as webhooks_out_receivers  # noqa: F401
        from tenants.portal import Section, register_section

        # Workspace pages (integrations.portal) in the client's side navigation.
        register_section(Section("dashboard", _("Dashboard"), "workspace:dashboard", "member", 10))
        register_section(Section("contacts", _("Contacts"), "workspace:contacts", "member", 20))
        register_section(Section("pipeline", _("Pipeline"), "workspace:pipeline", "member", 30))
        register_section(
            Section("appointments", _("Appointments"), "workspace:appointments", "member", 40)
        )
        register_section(Section("routing", _("Lead routing"), "workspace:routing", "admin", 50))
        register_section(Section("sync", _("Sync"), "workspace:sync", "admin", 60))
        register_section(Section("webhooks", _("Webhooks"), "workspace:webhooks", "admin", 87))

        # The agency pages: cross-location reports and the overview's health columns.
        from integrations.portal.agency_health import location_health
        from tenants.portal_agency import (
            AgencySection,
            register_agency_section,
            register_location_facts,
        )

        register_agency_section(
            AgencySection("reports", _("Reports"), "agency_reports:reports", order=20)
        )
        register_location_facts("integrations", location_health)
