"""Models of the integrations app, defined next to the code that uses them."""

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
from integrations.sync.models import LocationSync, SyncCursor, SyncRun
from integrations.webhooks_out.models import WebhookDelivery, WebhookEndpoint

__all__ = [
    "AgentDayCount",
    "AgentProfile",
    "AppointmentDay",
    "BulkJob",
    "BulkJobItem",
    "ContactImport",
    "ExternalConnection",
    "ExternalLink",
    "ExternalSyncRun",
    "FieldOverwrite",
    "GhlCallLog",
    "GhlInstallation",
    "GhlOAuthState",
    "GhlToken",
    "InboundEvent",
    "LeadDay",
    "LocationSync",
    "MirrorAppointment",
    "MirrorContact",
    "MirrorConversation",
    "MirrorMessage",
    "MirrorOpportunity",
    "MirrorPipeline",
    "MirrorTombstone",
    "MirrorUser",
    "OutcomeDay",
    "PackActivation",
    "PaymentWriteback",
    "PendingLead",
    "PipelineStage",
    "ReportDirty",
    "ReportDirtyDay",
    "ReportLabel",
    "ReportSchedule",
    "ReportState",
    "RoutingDay",
    "RoutingDecision",
    "RoutingRule",
    "RoutingRuleState",
    "SyncConflict",
    "SyncCursor",
    "SyncRun",
    "WebhookDelivery",
    "WebhookEndpoint",
]
