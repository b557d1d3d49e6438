"""The two admin sites.

* ``staff_site`` on the platform's hosts: platform operators, every tenant.
* ``agency_site`` on each agency's domains: that agency's owners and admins (staff may look),
  under the agency's brand, seeing only their own agency's rows.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from billing import admin as billing_admin
from billing.models import (
    AgencySubscription,
    PaymentAutomation,
    PaymentRequest,
    Plan,
    StripeAccount,
    StripeEvent,
    Subscription,
)
from integrations import admin as integrations_admin
from integrations import (
    admin_bulk,
    admin_connectors,
    admin_decisions,
    admin_imports,
    admin_packs,
    admin_reporting,
    admin_routing,
    admin_sync,
    admin_webhooks,
)
from integrations.bulk.models import BulkJob, ContactImport
from integrations.connectors.models import (
    ExternalConnection,
    ExternalSyncRun,
    FieldOverwrite,
    SyncConflict,
)
from integrations.ghl.models import GhlCallLog, GhlInstallation
from integrations.inbox.models import InboundEvent
from integrations.mirror.models import MirrorContact
from integrations.packs.models import PackActivation
from integrations.reporting.models import ReportSchedule
from integrations.routing.models import AgentProfile, RoutingDecision, RoutingRule
from integrations.sync.models import LocationSync, SyncRun
from integrations.webhooks_out.models import WebhookDelivery, WebhookEndpoint
from tenants.admin import agency as agency_admin
from tenants.admin import api_keys as api_keys_admin
from tenants.admin import onboarding as onboarding_admin
from tenants.admin import staff as staff_admin
from tenants.admin.scoping import AgencyAdminLoginForm, StaffAdminMixin, agency_role, is_operator
from tenants.models import (
    Agency,
    AgencyDomain,
    ApiKey,
    AuditLogEntry,
    Branding,
    Invitation,
    Location,
    LocationRequest,
    Membership,
    User,
)


class _NoShortcutMixin:
    """Drop the admin's `r/<content type>/<id>/` shortcut: it looks objects up through the base
    manager (every tenant) and no model of ours needs it."""

    def get_urls(self) -> list[Any]:
        return [url for url in super().get_urls() if getattr(url, "name", None) != "view_on_site"]  # type: ignore[misc]


class StaffAdminSite(_NoShortcutMixin, admin.AdminSite):
    site_header = "Platform operations"
    site_title = "Platform operations"
    index_title = "Everything, every tenant"

    def has_permission(self, request: HttpRequest) -> bool:
        return is_operator(request)


class AgencyAdminSite(_NoShortcutMixin, admin.AdminSite):
    index_title = "Your agency"
    enable_nav_sidebar = True
    login_form = AgencyAdminLoginForm

    def has_permission(self, request: HttpRequest) -> bool:
        return agency_role(request) in Membership.AGENCY_ROLES

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        agency = getattr(request, "agency", None)
        if agency is not None:
            name = agency.branding.display_name
            context.update(site_header=name, site_title=name, site_url="/")
        return context


staff_site = StaffAdminSite(name="staff_admin")
agency_site = AgencyAdminSite(name="agency_admin")

# The Location list with the bulk actions of the integrations (tenants may not import them).
agency_site.register(Location, admin_bulk.BulkLocationAdmin)
agency_site.register(AgencyDomain, agency_admin.AgencyDomainAdmin)
agency_site.register(Branding, agency_admin.AgencyBrandingAdmin)
agency_site.register(User, agency_admin.AgencyUserAdmin)
agency_site.register(AuditLogEntry, agency_admin.AgencyAuditLogAdmin)
agency_site.register(Invitation, onboarding_admin.AgencyInvitationAdmin)
agency_site.register(LocationRequest, onboarding_admin.AgencyLocationRequestAdmin)
agency_site.register(GhlInstallation, admin_bulk.LocationHealthAdmin)
agency_site.register(GhlCallLog, integrations_admin.CallLogAdmin)
agency_site.register(LocationSync, admin_sync.LocationSyncAdmin)
agency_site.register(SyncRun, admin_sync.SyncRunAdmin)
agency_site.register(MirrorContact, admin_sync.MirrorContactAdmin)
agency_site.register(InboundEvent, integrations_admin.AgencyInboxAdmin)
agency_site.register(ExternalConnection, admin_connectors.ExternalConnectionAdmin)
agency_site.register(ExternalSyncRun, admin_connectors.ExternalSyncRunAdmin)
agency_site.register(SyncConflict, admin_connectors.SyncConflictAdmin)
agency_site.register(FieldOverwrite, admin_connectors.FieldOverwriteAdmin)
agency_site.register(ContactImport, admin_imports.ContactImportAdmin)
agency_site.register(BulkJob, admin_bulk.BulkJobAdmin)
agency_site.register(PackActivation, admin_packs.PackActivationAdmin)
agency_site.register(RoutingRule, admin_routing.RoutingRuleAdmin)
agency_site.register(AgentProfile, admin_routing.AgentProfileAdmin)
agency_site.register(RoutingDecision, admin_decisions.RoutingDecisionAdmin)
agency_site.register(ReportSchedule, admin_reporting.ReportScheduleAdmin)  # + dashboards
agency_site.register(StripeAccount, billing_admin.AgencyStripeAccountAdmin)
agency_site.register(Plan, billing_admin.AgencyPlanAdmin)
agency_site.register(Subscription, billing_admin.AgencySubscriptionAdmin)
agency_site.register(PaymentAutomation, billing_admin.AgencyPaymentAutomationAdmin)
agency_site.register(PaymentRequest, billing_admin.AgencyPaymentRequestAdmin)
agency_site.register(AgencySubscription, billing_admin.AgencyOwnSubscriptionAdmin)
agency_site.register(ApiKey, api_keys_admin.AgencyApiKeyAdmin)
agency_site.register(WebhookEndpoint, admin_webhooks.WebhookEndpointAdmin)
agency_site.register(WebhookDelivery, admin_webhooks.WebhookDeliveryAdmin)

staff_site.register(Agency, staff_admin.StaffAgencyAdmin)
# The Location list with the pack action of the integrations (tenants may not import them).
staff_site.register(Location, admin_packs.StaffPackLocationAdmin)
staff_site.register(AgencyDomain, staff_admin.StaffDomainAdmin)
staff_site.register(User, staff_admin.StaffUserAdmin)
staff_site.register(Membership, staff_admin.StaffMembershipAdmin)
staff_site.register(AuditLogEntry, staff_admin.StaffAuditLogAdmin)
staff_site.register(GhlInstallation, integrations_admin.StaffConnectionAdmin)
staff_site.register(GhlCallLog, integrations_admin.StaffCallLogAdmin)
staff_site.register(InboundEvent, integrations_admin.InboxAdmin)
staff_site.register(LocationSync, admin_sync.StaffLocationSyncAdmin)
staff_site.register(SyncRun, admin_sync.StaffSyncRunAdmin)
staff_site.register(ExternalConnection, admin_connectors.StaffExternalConnectionAdmin)
staff_site.register(ExternalSyncRun, admin_connectors.StaffExternalSyncRunAdmin)
staff_site.register(BulkJob, admin_bulk.StaffBulkJobAdmin)
staff_site.register(PackActivation, admin_packs.StaffPackActivationAdmin)
staff_site.register(RoutingRule, admin_routing.StaffRoutingRuleAdmin)
staff_site.register(AgentProfile, admin_routing.StaffAgentProfileAdmin)
staff_site.register(RoutingDecision, admin_decisions.StaffRoutingDecisionAdmin)
staff_site.register(ReportSchedule, admin_reporting.StaffReportScheduleAdmin)
staff_site.register(StripeAccount, billing_admin.StaffStripeAccountAdmin)
staff_site.register(Plan, billing_admin.StaffPlanAdmin)
staff_site.register(Subscription, billing_admin.StaffSubscriptionAdmin)
staff_site.register(AgencySubscription, billing_admin.StaffAgencySubscriptionAdmin)
staff_site.register(StripeEvent, billing_admin.StripeEventAdmin)
staff_site.register(PaymentAutomation, billing_admin.StaffPaymentAutomationAdmin)
staff_site.register(PaymentRequest, billing_admin.StaffPaymentRequestAdmin)
staff_site.register(ApiKey, api_keys_admin.StaffApiKeyAdmin)
staff_site.register(WebhookEndpoint, admin_webhooks.StaffWebhookEndpointAdmin)
staff_site.register(WebhookDelivery, admin_webhooks.StaffWebhookDeliveryAdmin)


class _StaffOnly(StaffAdminMixin, admin.ModelAdmin[Any]):
    """Operators manage the periodic schedule's runtime state (enable, pause) here."""


for model in (PeriodicTask, IntervalSchedule, CrontabSchedule):
    staff_site.register(model, _StaffOnly)
