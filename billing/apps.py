from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from tenants.portal import Section, register_section

        from . import receivers  # noqa: F401 — the payment automations' outbox consumer

        register_section(
            Section("billing", _("Billing"), "workspace_billing:billing", access="admin", order=70)
        )
        register_section(
            Section("payments", "Payments", "workspace_billing:payments", access="admin", order=72)
        )

        # The agency pages: the plans editor and the overview's subscription column.
        from tenants.portal_agency import (
            AgencySection,
            register_agency_section,
            register_location_facts,
        )

        from .agency_facts import location_subscriptions

        register_agency_section(
            AgencySection("plans", _("Plans"), "agency_billing:plans", order=60)
        )
        register_agency_section(
            AgencySection(
                "subscription",
                _("Subscription"),
                "agency_billing:billing",
                access="admin",
                order=65,
            )
        )
        register_location_facts("billing", location_subscriptions)
