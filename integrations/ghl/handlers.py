"""Inbox handlers for GHL events (registered when the app is ready)."""

from __future__ import annotations

from typing import Any

from integrations.inbox.models import InboundEvent
from integrations.inbox.services import register

from .lifecycle import LIFECYCLE_EVENTS, lifecycle_event_apply


@register(InboundEvent.Source.GHL, *LIFECYCLE_EVENTS)
def lifecycle_event(event: InboundEvent, payload: dict[str, Any]) -> str:
    return lifecycle_event_apply(payload=payload, occurred_at=event.occurred_at)
