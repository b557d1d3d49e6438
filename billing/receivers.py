"""Wiring to tenants' event outbox: tell it when a won opportunity is wanted (a location with an
enabled payment rule), and run the automations as soon as events commit. The periodic run
(saas_platform.schedule) covers a missed signal."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from tenants.events import events_published, events_wanted_register

from .services.automations import automations_want

events_wanted_register(automations_want)


@receiver(events_published)
def _automations_soon(**_: Any) -> None:
    from .tasks import payment_automations_run

    payment_automations_run.delay()
