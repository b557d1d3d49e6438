"""factory_boy factories for every model. Agencies are made through the service, so each one has
its branding and verified platform subdomain like a real one."""

from datetime import timedelta
from typing import Any

import factory
from django.utils import timezone

from billing.models import (
    AgencySubscription,
    PaymentAutomation,
    PaymentRequest,
    PaymentTrigger,
    Plan,
    StripeAccount,
    StripeEvent,
    Subscription,
)
from integrations.bulk.models import BulkJob, BulkJobItem, ContactImport
from integrations.connectors.models import (
    ExternalConnection,
    ExternalLink,
    ExternalSyncRun,
    FieldOverwrite,
    SyncConflict,
)
from integrations.ghl.models import GhlCallLog, GhlInstallation, GhlOAuthState, GhlToken
from integrations.inbox.models import InboundEvent
from integrations.mirror.models import (
    MirrorAppointment,
    MirrorContact,
    MirrorConversation,
    MirrorMessage,
    MirrorOpportunity,
    MirrorPipeline,
    MirrorTombstone,
    MirrorUser,
)
from integrations.packs.models import PackActivation
from integrations.payments.models import PaymentWriteback
from integrations.reporting.models import (
    AppointmentDay,
    LeadDay,
    OutcomeDay,
    PipelineStage,
    ReportDirty,
    ReportDirtyDay,
    ReportLabel,
    ReportSchedule,
    ReportState,
    RoutingDay,
)
from integrations.routing.models import (
    AgentDayCount,
    AgentProfile,
    PendingLead,
    RoutingDecision,
    RoutingRule,
    RoutingRuleState,
)
from integrations.sync.models import LocationSync, SyncCursor, SyncRun, SyncSeen
from tenants import services
from tenants.models import (
    Agency,
    AgencyDomain,
    AgencyEntitlements,
    ApiKey,
    AuditLogEntry,
    Branding,
    Invitation,
    Location,
    LocationEntitlements,
    LocationRequest,
    LocationRevenue,
    Membership,
    User,
)

TEST_PASSWORD = "correct-horse-battery"


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency

    name = factory.Sequence(lambda n: f"Agency {n}")
    slug = factory.Sequence(lambda n: f"agency{n}")
    ghl_company_id = factory.Sequence(lambda n: f"TestCompany{n:09d}")

    @classmethod
    def _create(cls, model_class: type[Agency], *args: Any, **kwargs: Any) -> Agency:
        branding = kwargs.pop("branding", None)
        return services.agency_create(acting_user=None, branding=branding, **kwargs)


class BrandingFactory(factory.django.DjangoModelFactory):
    """Agencies get their branding from `agency_create`; this edits it."""

    class Meta:
        model = Branding

    agency = factory.SubFactory(AgencyFactory)

    @classmethod
    def _create(cls, model_class: type[Branding], *args: Any, **kwargs: Any) -> Branding:
        agency = kwargs.pop("agency")
        branding = Branding.objects.for_agency(agency).get()
        return services.branding_update(branding=branding, acting_user=None, data=kwargs)


class AgencyDomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgencyDomain

    agency = factory.SubFactory(AgencyFactory)
    domain = factory.Sequence(lambda n: f"portal{n}.client-domain.test")
    kind = AgencyDomain.Kind.CUSTOM
    verified_at = factory.LazyFunction(timezone.now)
    verification_token = factory.LazyFunction(AgencyDomain.new_verification_token)


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    agency = factory.SubFactory(AgencyFactory)
    name = factory.Sequence(lambda n: f"Location {n}")
    ghl_location_id = factory.Sequence(lambda n: f"TestLocation{n:08d}")
    industry = Location.Industry.GENERIC
    timezone = "UTC"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    agency = factory.SubFactory(AgencyFactory)
    email = factory.Sequence(lambda n: f"person{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save_password(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            self.save(update_fields=["password"])

    @factory.post_generation
    def email_verified(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        """Factory people are established accounts: their address is confirmed (pass
        `email_verified=False` for one that is not)."""
        # Imported here: a model class among this module's names would pass for a factory.
        from allauth.account.models import EmailAddress

        if create and self.agency_id is not None:
            EmailAddress.objects.create(
                user=self, email=self.email, primary=True, verified=extracted is not False
            )


class OperatorFactory(UserFactory):
    agency = None
    is_staff = True
    is_superuser = True


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    agency = factory.SelfAttribute("user.agency")
    location = None
    role = Membership.Role.AGENCY_OWNER


class InvitationFactory(factory.django.DjangoModelFactory):
    """An open invitation row (`services.invitation_create` also checks rights and mails it)."""

    class Meta:
        model = Invitation

    location = factory.SubFactory(LocationFactory)
    agency = factory.SelfAttribute("location.agency")
    email = factory.Sequence(lambda n: f"invitee{n}@example.test")
    role = Membership.Role.CLIENT_MEMBER
    nonce = factory.Sequence(lambda n: f"{n:032x}")
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


class LocationRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LocationRequest

    requested_by = factory.SubFactory(UserFactory)
    agency = factory.SelfAttribute("requested_by.agency")
    business_name = factory.Sequence(lambda n: f"Requested Business {n}")


class AuditLogEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditLogEntry

    agency = factory.SubFactory(AgencyFactory)
    action = "test.happened"
    target_type = "tenants.agency"
    target_id = factory.SelfAttribute("agency.pk")
    target_repr = factory.SelfAttribute("agency.name")


# --- integrations --------------------------------------------------------------------------------


class GhlInstallationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GhlInstallation

    agency = factory.SubFactory(AgencyFactory)
    location = factory.SubFactory(LocationFactory, agency=factory.SelfAttribute("..agency"))
    ghl_company_id = factory.SelfAttribute("agency.ghl_company_id")
    ghl_location_id = factory.SelfAttribute("location.ghl_location_id")
    user_type = GhlInstallation.UserType.LOCATION
    status = GhlInstallation.Status.HEALTHY


class GhlTokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GhlToken

    installation = factory.SubFactory(GhlInstallationFactory)
    access_token = factory.Sequence(lambda n: f"test-access-{n}")
    refresh_token = factory.Sequence(lambda n: f"test-refresh-{n}")
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=20))


class GhlCallLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GhlCallLog

    installation = factory.SubFactory(GhlInstallationFactory)
    agency = factory.SelfAttribute("installation.agency")
    location = factory.SelfAttribute("installation.location")
    method = "GET"
    path = factory.LazyAttribute(lambda o: f"/locations/{o.installation.ghl_location_id}")
    status = 200
    latency_ms = 120


class GhlOAuthStateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GhlOAuthState

    state = factory.LazyFunction(GhlOAuthState.new_value)
    agency = factory.SubFactory(AgencyFactory)


class InboundEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InboundEvent

    source = InboundEvent.Source.GHL
    event_id = factory.Sequence(lambda n: f"webhook-{n}")
    event_type = "ContactCreate"
    location_id = "TestLocation00000001"
    body = factory.LazyAttribute(
        lambda o: f'{{"type":"{o.event_type}","webhookId":"{o.event_id}"}}'.encode()
    )


# --- mirror and sync -----------------------------------------------------------------------------


class _MirrorFactory(factory.django.DjangoModelFactory):
    location = factory.SubFactory(LocationFactory)
    ghl_id = factory.Sequence(lambda n: f"GhlRecord{n:011d}")
    ghl_updated_at = factory.LazyFunction(timezone.now)


class MirrorContactFactory(_MirrorFactory):
    class Meta:
        model = MirrorContact

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"lead{n}@example.test")
    source = "Website"
    date_added = factory.LazyFunction(timezone.now)


class MirrorUserFactory(_MirrorFactory):
    class Meta:
        model = MirrorUser

    first_name = factory.Faker("first_name")
    email = factory.Sequence(lambda n: f"agent{n}@example.test")


class MirrorPipelineFactory(_MirrorFactory):
    class Meta:
        model = MirrorPipeline

    name = "Sales"
    stages = factory.LazyFunction(lambda: [{"id": "stage-1", "name": "New", "position": 0}])


class MirrorOpportunityFactory(_MirrorFactory):
    class Meta:
        model = MirrorOpportunity

    name = "Deal"
    status = "open"


class MirrorAppointmentFactory(_MirrorFactory):
    class Meta:
        model = MirrorAppointment

    title = "Viewing"
    start_time = factory.LazyFunction(timezone.now)


class MirrorConversationFactory(_MirrorFactory):
    class Meta:
        model = MirrorConversation


class MirrorMessageFactory(_MirrorFactory):
    class Meta:
        model = MirrorMessage

    direction = "inbound"
    message_type = "SMS"


class MirrorTombstoneFactory(_MirrorFactory):
    class Meta:
        model = MirrorTombstone

    kind = "contact"


class LocationSyncFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LocationSync

    location = factory.SubFactory(LocationFactory)


class SyncRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SyncRun

    location = factory.SubFactory(LocationFactory)
    kind = SyncRun.Kind.INCREMENTAL
    status = SyncRun.Status.SUCCEEDED


class SyncCursorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SyncCursor

    location = factory.SubFactory(LocationFactory)
    entity = "contacts"
    mode = "incremental"


class SyncSeenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SyncSeen

    run = factory.SubFactory(SyncRunFactory, kind=SyncRun.Kind.RECONCILE)
    kind = "contact"
    ghl_id = factory.Sequence(lambda n: f"Seen{n:016d}")


class ExternalConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExternalConnection

    location = factory.SubFactory(LocationFactory)
    name = factory.Sequence(lambda n: f"Leads sheet {n}")
    kind = "https"
    config = factory.LazyFunction(lambda: {"push_url": "https://93.184.215.14/hook"})
    mapping = factory.LazyFunction(lambda: [{"ghl": "email", "external": "email"}])


class ExternalLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExternalLink

    connection = factory.SubFactory(ExternalConnectionFactory)
    location = factory.SelfAttribute("connection.location")
    ghl_id = factory.Sequence(lambda n: f"Contact{n:012d}")
    external_key = factory.Sequence(lambda n: f"row-{n}")


class ExternalSyncRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExternalSyncRun

    connection = factory.SubFactory(ExternalConnectionFactory)
    location = factory.SelfAttribute("connection.location")
    status = ExternalSyncRun.Status.SUCCEEDED


class SyncConflictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SyncConflict

    link = factory.SubFactory(ExternalLinkFactory)
    connection = factory.SelfAttribute("link.connection")
    location = factory.SelfAttribute("link.location")
    field = "phone"
    ghl_value = "+15555550100"
    external_value = "+15555550199"


class FieldOverwriteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FieldOverwrite

    connection = factory.SubFactory(ExternalConnectionFactory)
    location = factory.SelfAttribute("connection.location")
    ghl_id = factory.Sequence(lambda n: f"Contact{n:012d}")
    external_key = factory.Sequence(lambda n: f"row-{n}")
    field = "first_name"
    old = "Ada"
    new = "Grace"
    side = FieldOverwrite.Side.EXTERNAL
    reason = "changed in GHL"


class BulkJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BulkJob

    agency = factory.SubFactory(AgencyFactory)
    kind = BulkJob.Kind.RESYNC


class BulkJobItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BulkJobItem

    job = factory.SubFactory(BulkJobFactory)
    agency = factory.SelfAttribute("job.agency")
    location = factory.SubFactory(LocationFactory, agency=factory.SelfAttribute("..agency"))


class ContactImportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactImport

    location = factory.SubFactory(LocationFactory)
    file_name = "leads.csv"
    mapping = factory.LazyFunction(lambda: {"Email": "email"})


# --- lead routing --------------------------------------------------------------------------------


class AgentProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentProfile

    location = factory.SubFactory(LocationFactory)
    ghl_user_id = factory.Sequence(lambda n: f"Agent{n:015d}")


class RoutingRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoutingRule

    location = factory.SubFactory(LocationFactory)
    name = factory.Sequence(lambda n: f"Rule {n}")
    position = factory.Sequence(lambda n: n)
    pool = factory.LazyFunction(lambda: {"agents": []})


class RoutingRuleStateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoutingRuleState

    rule = factory.SubFactory(RoutingRuleFactory)
    location = factory.SelfAttribute("rule.location")


class AgentDayCountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentDayCount

    location = factory.SubFactory(LocationFactory)
    agent_ghl_id = factory.Sequence(lambda n: f"Agent{n:015d}")
    day = factory.LazyFunction(lambda: timezone.now().date())


class RoutingDecisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoutingDecision

    location = factory.SubFactory(LocationFactory)
    contact_ghl_id = factory.Sequence(lambda n: f"Contact{n:013d}")
    status = RoutingDecision.Status.UNROUTABLE
    created_at = factory.LazyFunction(timezone.now)


class PendingLeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PendingLead

    location = factory.SubFactory(LocationFactory)
    contact_ghl_id = factory.Sequence(lambda n: f"Lead{n:016d}")
    queued_at = factory.LazyFunction(timezone.now)
    due_at = factory.LazyFunction(timezone.now)


# --- industry packs ------------------------------------------------------------------------------


class PackActivationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PackActivation

    location = factory.SubFactory(LocationFactory)
    pack_key = "real_estate"
    pack_version = 1
    status = PackActivation.Status.ACTIVE
    fields = factory.LazyFunction(lambda: {"area": "FieldArea0000000001"})
    activated_at = factory.LazyFunction(timezone.now)


# --- reporting -----------------------------------------------------------------------------------


class ReportScheduleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReportSchedule

    location = factory.SubFactory(LocationFactory)
    frequency = ReportSchedule.Frequency.WEEKLY


# Rollups are written by the rebuild's SQL; these factories exist for tests of the readers.
class _RollupFactory(factory.django.DjangoModelFactory):
    location = factory.SubFactory(LocationFactory)


class LeadDayFactory(_RollupFactory):
    class Meta:
        model = LeadDay

    day = factory.LazyFunction(timezone.localdate)
    leads = 1


class PipelineStageFactory(_RollupFactory):
    class Meta:
        model = PipelineStage

    status = "open"
    opportunities = 1


class OutcomeDayFactory(_RollupFactory):
    class Meta:
        model = OutcomeDay

    day = factory.LazyFunction(timezone.localdate)
    opened = 1


class AppointmentDayFactory(_RollupFactory):
    class Meta:
        model = AppointmentDay

    day = factory.LazyFunction(timezone.localdate)
    booked = 1


class RoutingDayFactory(_RollupFactory):
    class Meta:
        model = RoutingDay

    day = factory.LazyFunction(timezone.localdate)
    status = "assigned"
    decisions = 1


class ReportLabelFactory(_RollupFactory):
    class Meta:
        model = ReportLabel

    kind = ReportLabel.Kind.AGENT
    key = factory.Sequence(lambda n: f"agent{n}")
    label = "Agent"


class ReportDirtyFactory(_RollupFactory):
    class Meta:
        model = ReportDirty

    marked_at = factory.LazyFunction(timezone.now)


class ReportDirtyDayFactory(_RollupFactory):
    class Meta:
        model = ReportDirtyDay

    day = factory.LazyFunction(timezone.localdate)


class ReportStateFactory(_RollupFactory):
    class Meta:
        model = ReportState

    built_at = factory.LazyFunction(timezone.now)


# --- billing -------------------------------------------------------------------------------------


class StripeAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StripeAccount

    agency = factory.SubFactory(AgencyFactory)
    stripe_account_id = factory.Sequence(lambda n: f"acct_test{n:012d}")
    charges_enabled = True
    payouts_enabled = True
    details_submitted = True


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    agency = factory.SubFactory(AgencyFactory)
    name = factory.Sequence(lambda n: f"Plan {n}")
    amount = 4900
    currency = "usd"
    entitlements = factory.LazyFunction(lambda: {"routing": True})


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    location = factory.SubFactory(LocationFactory)
    plan = factory.SubFactory(PlanFactory, agency=factory.SelfAttribute("..location.agency"))
    stripe_account_id = factory.Sequence(lambda n: f"acct_test{n:012d}")
    stripe_subscription_id = factory.Sequence(lambda n: f"sub_test{n:012d}")
    status = Subscription.Status.ACTIVE


class StripeEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StripeEvent

    source = StripeEvent.Source.CONNECT
    event_id = factory.Sequence(lambda n: f"evt_test{n:012d}")
    event_type = "customer.subscription.updated"
    body = b"{}"


class LocationEntitlementsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LocationEntitlements

    location = factory.SubFactory(LocationFactory)
    granted = factory.LazyFunction(lambda: {"routing": True})


class LocationRevenueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LocationRevenue

    location = factory.SubFactory(LocationFactory)
    reference = factory.Sequence(lambda n: f"in_test{n:012d}")
    paid_on = factory.LazyFunction(timezone.localdate)
    amount = 49
    currency = "usd"


class ApiKeyFactory(factory.django.DjangoModelFactory):
    """Made through the service; the full key is on ``obj.raw_key`` (shown once in real life)."""

    class Meta:
        model = ApiKey

    agency = factory.SubFactory(AgencyFactory)
    location = None
    name = factory.Sequence(lambda n: f"Integration {n}")
    scopes = factory.LazyFunction(lambda: ["locations:read", "contacts:write", "audit_log:read"])
    expires_at = None
    rate_limit_per_minute = 600

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        from tenants.api.keys import api_key_create

        issued = api_key_create(acting_user=None, **kwargs)
        issued.key.raw_key = issued.secret  # type: ignore[attr-defined]
        return issued.key


# --- outbound webhooks -----------------------------------------------------------------------

from integrations.webhooks_out.models import WebhookDelivery, WebhookEndpoint  # noqa: E402
from integrations.webhooks_out.signing import secret_new  # noqa: E402
from tenants.models import TenantEvent  # noqa: E402


class TenantEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TenantEvent

    location = factory.SubFactory(LocationFactory)
    type = "contact.created"
    data = factory.LazyFunction(lambda: {"contact": {"id": "c1"}})
    created_at = factory.LazyFunction(timezone.now)


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint

    location = factory.SubFactory(LocationFactory)
    agency = factory.LazyAttribute(lambda o: o.location.agency)
    # An address literal: saving through the service needs no DNS, and respx answers for it.
    url = factory.Sequence(lambda n: f"https://93.184.215.14/hooks/{n}")
    event_types = factory.LazyFunction(lambda: ["contact.created", "contact.updated"])
    secret = factory.LazyFunction(secret_new)


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    event = factory.LazyAttribute(lambda o: TenantEventFactory(location=o.endpoint.location))


class PaymentAutomationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaymentAutomation

    location = factory.SubFactory(LocationFactory)
    name = factory.Sequence(lambda n: f"Invoice on win {n}")
    currency = "usd"


class PaymentRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaymentRequest

    automation = factory.SubFactory(PaymentAutomationFactory)
    location = factory.LazyAttribute(lambda o: o.automation.location)
    opportunity_ghl_id = factory.Sequence(lambda n: f"opp{n:017d}")
    opportunity_name = factory.Sequence(lambda n: f"Deal {n}")
    customer_email = factory.Sequence(lambda n: f"payer{n}@example.test")
    amount = 120000
    currency = "usd"
    status = PaymentRequest.Status.SENT
    stripe_object_id = factory.Sequence(lambda n: f"in_factory{n:06d}")


class PaymentTriggerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaymentTrigger

    event = factory.SubFactory(TenantEventFactory, type="opportunity.won")


class PaymentWritebackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaymentWriteback

    location = factory.SubFactory(LocationFactory)
    payment_ref = factory.Sequence(lambda n: f"payment-{n}")
    data = factory.LazyFunction(lambda: {"payment": {"id": 1}, "opportunity": {"id": "opp1"}})


class AgencyEntitlementsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgencyEntitlements

    agency = factory.SubFactory(AgencyFactory)
    granted = factory.LazyFunction(lambda: {"max_locations": 5})


class AgencySubscriptionFactory(factory.django.DjangoModelFactory):
    """An agency's subscription to one of the platform's own plans (no agency owns the plan)."""

    class Meta:
        model = AgencySubscription

    agency = factory.SubFactory(AgencyFactory)
    plan = factory.SubFactory(
        PlanFactory, agency=None, entitlements=factory.LazyFunction(lambda: {"max_locations": 5})
    )
    stripe_subscription_id = factory.Sequence(lambda n: f"sub_platform{n:010d}")
    status = AgencySubscription.Status.ACTIVE
