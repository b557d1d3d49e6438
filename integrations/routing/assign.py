"""A new lead: route it, then write the assignment to GHL (the contact's `assignedTo`) through
the governor at interactive priority, and the mirror from GHL's answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from integrations.ghl import operations as ops
from integrations.ghl.client import GhlClient
from integrations.ghl.errors import GhlNotFound, GhlValidationError
from integrations.ghl.governor import Priority
from integrations.mirror.writer import mirror_upsert
from integrations.sync.engine import location_installation
from tenants.models import Location, User
from tenants.services import audit_record

from .engine import current_decision, route_lead
from .models import RoutingDecision, RoutingRule


def routing_enabled(location: Location) -> bool:
    return RoutingRule.objects.for_location(location).filter(enabled=True).exists()


def lead_assign(*, location: Location, contact_ghl_id: str) -> RoutingDecision:
    """Route the lead (once: an existing decision is reused) and write its agent to GHL unless
    already written. A GHL refusal is kept on the decision; transient GHL errors are raised for
    the task to retry."""
    decision = route_lead(location=location, contact_ghl_id=contact_ghl_id)
    if not decision.agent_ghl_id or decision.ghl_written_at is not None:
        return decision
    decisions = RoutingDecision.objects.for_location(location).filter(pk=decision.pk)
    installation = location_installation(location)
    if installation is None:
        decisions.update(ghl_error="The location is not connected to GHL.")
        return decision
    rule = decision.rule
    try:
        with GhlClient(installation, priority=Priority.INTERACTIVE) as ghl:
            update = ops.contact_update(
                contact_id=contact_ghl_id, fields={"assignedTo": decision.agent_ghl_id}
            )
            contact = ghl.run(update)
            mirror_upsert(location_id=location.pk, kind="contact", records=[contact])
            opportunity_id = ""
            if rule is not None and rule.pipeline_id and not decision.ghl_opportunity_id:
                opportunity = ghl.run(
                    ops.opportunity_create(
                        location_id=location.ghl_location_id or "",
                        pipeline_id=rule.pipeline_id,
                        stage_id=rule.stage_id,
                        contact_id=contact_ghl_id,
                        name=_lead_name(contact),
                        assigned_to=decision.agent_ghl_id,
                    )
                )
                mirror_upsert(location_id=location.pk, kind="opportunity", records=[opportunity])
                opportunity_id = str(opportunity["id"])
    except (GhlValidationError, GhlNotFound) as exc:
        decisions.update(ghl_error=f"GHL refused the assignment: {exc.message}"[:2000])
        return decision
    decisions.update(
        ghl_written_at=timezone.now(),
        ghl_error="",
        ghl_opportunity_id=opportunity_id or decision.ghl_opportunity_id,
    )
    decision.refresh_from_db()
    return decision


def lead_reroute(
    *, location: Location, contact_ghl_id: str, acting_user: User | None = None
) -> RoutingDecision:
    """Route the lead again now (its old decision kept as history) and, once committed, queue
    the GHL write of the new agent. The write is the idempotent `lead_assign` task, so its
    retries never route the lead a third time."""
    from integrations.tasks import routing_lead_assign

    with transaction.atomic():
        old = current_decision(location=location, contact_ghl_id=contact_ghl_id)
        decision = route_lead(location=location, contact_ghl_id=contact_ghl_id, reroute=True)
        audit_record(
            action="routing_decision.rerouted",
            target=decision,
            acting_user=acting_user,
            agency=location.agency,
            location=location,
            changes={"agent": (old.agent_ghl_id if old else "", decision.agent_ghl_id)},
        )
        if decision.agent_ghl_id:
            transaction.on_commit(lambda: routing_lead_assign.delay(location.pk, contact_ghl_id))
    return decision


def _lead_name(contact: Mapping[str, Any]) -> str:
    full = f"{contact.get('firstName') or ''} {contact.get('lastName') or ''}".strip()
    return full or str(contact.get("email") or contact.get("phone") or "New lead")
