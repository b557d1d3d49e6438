"""New leads: route them, then write each assignment to GHL (the contact's `assignedTo`, and
the opportunity where the rule names a pipeline) through the governor at interactive priority,
and the mirror from GHL's answers.

Leads of one location are handled together (`leads_assign`): one routing transaction, one GHL
client (connection, token and call log shared; the call records written in one INSERT), the
mirror updated from all of GHL's answers in one upsert, the decisions stamped in one UPDATE.
Only the GHL calls themselves stay one per lead: GHL has no bulk assignment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from integrations.ghl import operations as ops
from integrations.ghl.calllog import CallRecorder
from integrations.ghl.client import GhlClient
from integrations.ghl.errors import (
    GhlNotFound,
    GhlRateLimited,
    GhlServerError,
    GhlTimeout,
    GhlValidationError,
)
from integrations.ghl.governor import Priority
from integrations.ghl.models import GhlCallLog, GhlInstallation
from integrations.mirror.writer import mirror_upsert
from integrations.sync.engine import location_installation
from tenants.models import Location, User
from tenants.services import audit_record

from .engine import current_decision, leads_route, route_lead
from .models import RoutingDecision, RoutingRule

# GHL busy, down or over budget: the write is tried again later.
GHL_TRANSIENT = (GhlRateLimited, GhlServerError, GhlTimeout)


@dataclass
class Assigned:
    """What `leads_assign` did: every routed contact's decision, and the contacts whose GHL
    write hit a transient error (`transient`), to be tried again."""

    decisions: dict[str, RoutingDecision]
    retry: list[str] = field(default_factory=list)
    transient: Exception | None = None


def lead_assign(*, location: Location, contact_ghl_id: str) -> RoutingDecision:
    """Route the lead (once: an existing decision is reused) and write its agent to GHL unless
    already written. A GHL refusal is kept on the decision; transient GHL errors are raised for
    the task to retry."""
    decision = route_lead(location=location, contact_ghl_id=contact_ghl_id)
    outcome = _write(location, {contact_ghl_id: decision})
    if outcome.transient is not None:
        raise outcome.transient
    return outcome.decisions[contact_ghl_id]


def leads_assign(
    *,
    location: Location,
    contact_ghl_ids: Sequence[str],
    installations: Mapping[int, GhlInstallation] | None = None,
    calls: list[GhlCallLog] | None = None,
) -> Assigned:
    """Route leads of one location together and write their agents to GHL. A contact missing
    from the mirror is left out; GHL refusals are kept on the decisions; a transient GHL error
    stops the writes and names the contacts left to write. For a drain's claim of several
    locations: `installations`, their connections looked up together (a location not in it is
    not connected; by default the location's is looked up here), and `calls`, where the GHL
    call records are left for the caller to write together (by default written here)."""
    decisions = leads_route(location=location, contact_ghl_ids=contact_ghl_ids)
    return _write(location, decisions, installations, calls)


def _write(
    location: Location,
    decisions: dict[str, RoutingDecision],
    installations: Mapping[int, GhlInstallation] | None = None,
    calls: list[GhlCallLog] | None = None,
) -> Assigned:
    outcome = Assigned(decisions=decisions)
    pending = [d for d in decisions.values() if d.agent_ghl_id and d.ghl_written_at is None]
    if not pending:
        return outcome
    if installations is None:
        installation = location_installation(location)
    else:
        installation = installations.get(location.pk)
    if installation is None:
        for decision in pending:
            decision.ghl_error = "The location is not connected to GHL."
        _stamp(location, pending)
        return outcome
    rules = {d.rule_id: d.rule for d in pending if d.rule_id is not None}
    done: list[RoutingDecision] = []
    contacts: list[Mapping[str, Any]] = []
    opportunities: list[Mapping[str, Any]] = []
    # One call-log INSERT for the batch (or the caller's claim), not one per call; each answer
    # reported to the governor with the next call's turn (one Redis round trip per call).
    with GhlClient(
        installation,
        priority=Priority.INTERACTIVE,
        flush_every=CallRecorder.MANUAL_FLUSH,
        defer_observations=True,
    ) as ghl:
        try:
            for index, decision in enumerate(pending):
                try:
                    _write_one(ghl, location, decision, rules, contacts, opportunities)
                except GHL_TRANSIENT as exc:
                    outcome.retry = [d.contact_ghl_id for d in pending[index:]]
                    outcome.transient = exc
                    break
                done.append(decision)
        finally:
            # Whatever GHL already answered is kept, even when something unexpected stops the
            # batch: the mirror, then the decisions, in one transaction (one commit).
            with transaction.atomic():
                if contacts:
                    mirror_upsert(location_id=location.pk, kind="contact", records=contacts)
                if opportunities:
                    mirror_upsert(
                        location_id=location.pk, kind="opportunity", records=opportunities
                    )
                _stamp(location, done)
            if calls is not None:
                calls += ghl.recorder.take()
    return outcome


def _write_one(
    ghl: GhlClient,
    location: Location,
    decision: RoutingDecision,
    rules: Mapping[int, RoutingRule | None],
    contacts: list[Mapping[str, Any]],
    opportunities: list[Mapping[str, Any]],
) -> None:
    """One lead's GHL writes; a refusal is kept on the decision, a transient error raised."""
    rule = rules.get(decision.rule_id) if decision.rule_id is not None else None
    try:
        update = ops.contact_update(
            contact_id=decision.contact_ghl_id, fields={"assignedTo": decision.agent_ghl_id}
        )
        contact = ghl.run(update)
        contacts.append(contact)
        if rule is not None and rule.pipeline_id and not decision.ghl_opportunity_id:
            opportunity = ghl.run(
                ops.opportunity_create(
                    location_id=location.ghl_location_id or "",
                    pipeline_id=rule.pipeline_id,
                    stage_id=rule.stage_id,
                    contact_id=decision.contact_ghl_id,
                    name=_lead_name(contact),
                    assigned_to=decision.agent_ghl_id,
                )
            )
            opportunities.append(opportunity)
            decision.ghl_opportunity_id = str(opportunity["id"])
    except (GhlValidationError, GhlNotFound) as exc:
        decision.ghl_error = f"GHL refused the assignment: {exc.message}"[:2000]
        return
    decision.ghl_written_at, decision.ghl_error = timezone.now(), ""


_STAMP_SQL = f"""
    UPDATE {RoutingDecision._meta.db_table} d
       SET ghl_written_at = v.written_at, ghl_error = v.error, ghl_opportunity_id = v.opportunity
      FROM unnest(%(ids)s::bigint[], %(written)s::timestamptz[], %(errors)s::text[],
                  %(opportunities)s::text[]) AS v(id, written_at, error, opportunity)
     WHERE d.id = v.id AND d.location_id = %(location)s
"""  # noqa: S608 — the table name from the model, values bound


def _stamp(location: Location, decisions: list[RoutingDecision]) -> None:
    """The GHL outcome of each decision, in one statement whose text never changes (the ORM's
    bulk update builds a CASE per field and row: costly to compose, and never the same twice)."""
    if not decisions:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _STAMP_SQL,
            {
                "ids": [d.pk for d in decisions],
                "written": [d.ghl_written_at for d in decisions],
                "errors": [d.ghl_error for d in decisions],
                "opportunities": [d.ghl_opportunity_id for d in decisions],
                "location": location.pk,
            },
        )


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
