"""The event types customers may subscribe to (docs/webhooks.md shows each payload)."""

from __future__ import annotations

CONTACT_CREATED = "contact.created"
CONTACT_UPDATED = "contact.updated"
LEAD_ROUTED = "lead.routed"
OPPORTUNITY_STAGE_CHANGED = "opportunity.stage_changed"
SYNC_COMPLETED = "sync.completed"
SYNC_FAILED = "sync.failed"
SUBSCRIPTION_UPDATED = "subscription.updated"
# Sent by "Send test event" to one endpoint only; nobody subscribes to it.
ENDPOINT_TEST = "endpoint.test"

EVENT_TYPES: dict[str, str] = {
    CONTACT_CREATED: "A contact was added",
    CONTACT_UPDATED: "A contact's details changed",
    LEAD_ROUTED: "A lead was routed to an agent (or found unroutable)",
    OPPORTUNITY_STAGE_CHANGED: "An opportunity moved to another pipeline stage",
    SYNC_COMPLETED: "A data sync finished",
    SYNC_FAILED: "A data sync failed",
    SUBSCRIPTION_UPDATED: "The subscription's plan or status changed",
}

EVENT_CHOICES = list(EVENT_TYPES.items())
