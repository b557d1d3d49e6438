from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from tenants.portal import Section, register_section

        register_section(
            Section("billing", "Billing", "workspace_billing:billing", access="admin", order=70)
        )
