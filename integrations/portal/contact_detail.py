"""What a contact's workspace page shows: its fields, custom fields by name, and one timeline of
its messages, appointments, opportunities and routing, plus each routing decision explained.

Everything is read from the mirror and the routing tables of the location, in a fixed number of
queries whatever the contact's history (each source is capped at its most recent rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from integrations.mirror.models import (
    MirrorAppointment,
    MirrorContact,
    MirrorConversation,
    MirrorMessage,
    MirrorOpportunity,
    MirrorPipeline,
)
from integrations.packs.catalog import packs
from integrations.packs.models import PackActivation
from integrations.portal.contact_search import agent_names
from integrations.routing.decide import REASONS
from integrations.routing.models import RoutingDecision
from saas_platform.kernel.errors import NotFound
from tenants.models import Location

PER_SOURCE = 100  # most recent rows read from each table for the timeline
CHANNELS = {
    "TYPE_SMS": "SMS",
    "SMS": "SMS",
    "TYPE_EMAIL": gettext_lazy("E-mail"),
    "Email": gettext_lazy("E-mail"),
    "TYPE_CALL": gettext_lazy("Call"),
    "CALL": gettext_lazy("Call"),
    "WhatsApp": "WhatsApp",
    "TYPE_WHATSAPP": "WhatsApp",
    "TYPE_FACEBOOK": gettext_lazy("Facebook message"),
    "TYPE_INSTAGRAM": gettext_lazy("Instagram message"),
    "TYPE_LIVE_CHAT": gettext_lazy("Live chat"),
}
OPPORTUNITY_STATUS = {
    "open": gettext_lazy("Open"),
    "won": gettext_lazy("Won"),
    "lost": gettext_lazy("Lost"),
    "abandoned": gettext_lazy("Abandoned"),
}


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: str  # message | appointment | opportunity | routing
    title: str
    detail: str = ""


@dataclass(frozen=True)
class CandidateRow:
    agent: str
    pool: str
    outcome: str
    chosen: bool
    detail: str


@dataclass(frozen=True)
class DecisionView:
    at: datetime
    status: str
    status_label: str
    rule: str
    agent: str
    strategy: str
    candidates: list[CandidateRow]
    timings: str
    current: bool
    saved: bool  # the assignment reached the CRM


def contact_get(*, location: Location, contact_id: str) -> MirrorContact:
    """The location's contact by its CRM id; NotFound for another location's or a missing one."""
    contact: MirrorContact | None = (
        MirrorContact.objects.for_location(location).filter(ghl_id=contact_id).first()
    )
    if contact is None:
        raise NotFound(_("No such contact."))
    return contact


def custom_field_names(*, location: Location) -> dict[str, str]:
    """Names of the custom fields the location's activated packs created, by field id: the only
    custom-field names the mirror knows (other fields are shown by id)."""
    catalog = packs()
    names: dict[str, str] = {}
    activations = PackActivation.objects.for_location(location).filter(activated_at__isnull=False)
    for activation in activations:
        pack = catalog.get(activation.pack_key)
        labels = {f.key: f.name for f in pack.fields} if pack else {}
        for key, field_id in activation.fields.items():
            names[str(field_id)] = labels.get(key, key)
    return names


def contact_custom_fields(
    *, contact: MirrorContact, names: dict[str, str]
) -> list[tuple[str, str]]:
    """(name, value as text) pairs, named ones first, then by name."""
    rows = [
        (names.get(field_id, field_id), _text(value), field_id in names)
        for field_id, value in contact.custom_fields.items()
        if value not in (None, "", [])
    ]
    rows.sort(key=lambda r: (not r[2], r[0].lower()))
    return [(name, value) for name, value, _named in rows]


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _pipelines(location: Location, ids: set[str]) -> dict[str, tuple[str, dict[str, str]]]:
    if not ids:
        return {}
    found = MirrorPipeline.objects.for_location(location).filter(ghl_id__in=ids)
    return {
        p.ghl_id: (p.name, {str(s.get("id")): str(s.get("name", "")) for s in p.stages})
        for p in found
    }


def contact_timeline(
    *,
    location: Location,
    contact: MirrorContact,
    agents: dict[str, str] | None = None,
    decisions: list[DecisionView] | None = None,
) -> list[Event]:
    """The contact's history, newest first: messages (metadata only), conversations without a
    mirrored message, appointments, opportunities with their pipeline and stage names, routing.
    `agents` and `decisions`, when the caller already has them, save their queries."""
    if agents is None:
        agents = agent_names(location=location)
    if decisions is None:
        decisions = contact_decisions(location=location, contact=contact, agents=agents)
    mine = MirrorMessage.objects.for_location(location).filter(contact_ghl_id=contact.ghl_id)
    events: list[Event] = []
    conversations_seen: set[str] = set()
    for m in mine.exclude(date_added=None).order_by("-date_added", "-pk")[:PER_SOURCE]:
        conversations_seen.add(m.conversation_ghl_id)
        kind = m.message_type.replace("TYPE_", "").title()
        channel = str(CHANNELS.get(m.message_type, kind))
        by = agents.get(m.user_ghl_id, "") if m.direction != "inbound" else ""
        detail = " · ".join(p for p in (by and _("by %(name)s") % {"name": by}, m.status) if p)
        channel = channel or _("message")
        title = (
            _("Received %(channel)s") % {"channel": channel}
            if m.direction == "inbound"
            else _("Sent %(channel)s") % {"channel": channel}
        )
        events.append(Event(m.date_added, "message", title, detail))

    conversations = MirrorConversation.objects.for_location(location).filter(
        contact_ghl_id=contact.ghl_id, last_message_at__isnull=False
    )
    for c in conversations.order_by("-last_message_at")[:PER_SOURCE]:
        if c.ghl_id in conversations_seen:
            continue
        channel = str(CHANNELS.get(c.last_message_type, _("message")))
        unread = _("%(count)s unread") % {"count": c.unread_count} if c.unread_count else ""
        title = _("Last %(channel)s in a conversation") % {"channel": channel}
        events.append(Event(c.last_message_at, "message", title, unread))

    appointments = MirrorAppointment.objects.for_location(location).filter(
        contact_ghl_id=contact.ghl_id
    )
    for a in appointments.exclude(start_time=None).order_by("-start_time")[:PER_SOURCE]:
        with_whom = agents.get(a.assigned_user_ghl_id, "")
        shown_with = with_whom and _("with %(name)s") % {"name": with_whom}
        detail = " · ".join(p for p in (a.status.title(), shown_with) if p)
        events.append(Event(a.start_time, "appointment", a.title or _("Appointment"), detail))

    opportunities = list(
        MirrorOpportunity.objects.for_location(location)
        .filter(contact_ghl_id=contact.ghl_id)
        .exclude(ghl_created_at=None)
        .order_by("-ghl_created_at")[:PER_SOURCE]
    )
    boards = _pipelines(location, {o.pipeline_ghl_id for o in opportunities if o.pipeline_ghl_id})
    for o in opportunities:
        pipeline, stages = boards.get(o.pipeline_ghl_id, ("", {}))
        where = " / ".join(p for p in (pipeline, stages.get(o.stage_ghl_id, "")) if p)
        status = str(OPPORTUNITY_STATUS.get(o.status, o.status.title()))
        detail = " · ".join(p for p in (where, status, _money(o.monetary_value)) if p)
        events.append(Event(o.ghl_created_at, "opportunity", o.name or _("Opportunity"), detail))

    for d in decisions:
        title = (
            _("Assigned to %(agent)s") % {"agent": d.agent}
            if d.agent
            else _("Could not be assigned")
        )
        rule = d.rule and _("rule “%(rule)s”") % {"rule": d.rule}
        events.append(Event(d.at, "routing", title, rule))

    events.sort(key=lambda e: e.at, reverse=True)
    return events


def _money(value: Decimal) -> str:
    return f"{value:,.2f}" if value else ""


def contact_decisions(
    *, location: Location, contact: MirrorContact, agents: dict[str, str]
) -> list[DecisionView]:
    """Every routing decision for the contact, newest first, each candidate's outcome in words
    and agents by name (never the raw summary, which carries ids)."""
    decisions = (
        RoutingDecision.objects.for_location(location)
        .filter(contact_ghl_id=contact.ghl_id)
        .order_by("-created_at", "-pk")[:PER_SOURCE]
    )
    return [_decision_view(d, agents) for d in decisions]


def _decision_view(d: RoutingDecision, agents: dict[str, str]) -> DecisionView:
    def name(agent_id: str) -> str:
        return agents.get(agent_id, agent_id)

    candidates = []
    for c in d.candidates:
        if c.get("chosen"):
            outcome = _("Chosen")
        elif c.get("eligible"):
            outcome = _("Eligible, not picked this time")
        else:
            reason = REASONS.get(c.get("reason", ""), c.get("reason", ""))
            outcome = _("Skipped: %(reason)s") % {"reason": reason}
        pool = "fallback" if c.get("pool") == "fallback" else "main"
        candidates.append(
            CandidateRow(
                name(str(c.get("agent", ""))),
                pool,
                outcome,
                bool(c.get("chosen")),
                str(c.get("detail", "")),
            )
        )
    # The total first; the parts in the order stored (jsonb sorts keys by length, then name).
    parts = sorted(d.timings.items(), key=lambda item: item[0] != "total_ms")
    timings = ", ".join(
        f"{key.removesuffix('_ms').replace('_', ' ')} {value} ms" for key, value in parts
    )
    return DecisionView(
        at=d.created_at,
        status=d.status,
        status_label=d.get_status_display(),
        rule=d.rule_name,
        agent=name(d.agent_ghl_id) if d.agent_ghl_id else "",
        strategy=d.strategy.replace("_", " "),
        candidates=candidates,
        timings=timings,
        current=d.is_current,
        saved=d.ghl_written_at is not None,
    )
