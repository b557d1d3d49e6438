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
        from integrations.webhooks_out import receivers as webhooks_out_receivers  # noqa: F401
        from tenants.portal import Section, register_section

        register_section(Section("webhooks", "Webhooks", "workspace:webhooks", "admin", 87))
