from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        # Inbox handlers and signal receivers register themselves on import.
        from integrations.connectors import receivers as connector_receivers  # noqa: F401
        from integrations.ghl import handlers  # noqa: F401
        from integrations.reporting import receivers as reporting_receivers  # noqa: F401
        from integrations.routing import receivers as routing_receivers  # noqa: F401
        from integrations.sync import receivers, webhooks  # noqa: F401

        self._register_routing_and_sync_sections()

    @staticmethod
    def _register_routing_and_sync_sections() -> None:
        from tenants.portal import Section, register_section

        register_section(Section("routing", "Lead routing", "workspace:routing", "admin", 50))
        register_section(Section("sync", "Sync", "workspace:sync", "admin", 60))
