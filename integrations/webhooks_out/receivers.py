"""Wiring to tenants' event outbox: tell it which events anyone wants, and dispatch (then send)
as soon as published events commit. The periodic sweep (integrations.tasks) covers a missed
signal or a worker that died in between."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from tenants.events import events_published, events_wanted_register

from .dispatch import endpoints_want

events_wanted_register(endpoints_want)


@receiver(events_published)
def _dispatch_soon(**_: Any) -> None:
    from integrations.tasks import webhook_events_dispatch

    webhook_events_dispatch.delay()
