"""Wiring to tenants' event outbox: billing's "payment.succeeded" is always wanted (it exists only
for an automation), and is written back to GHL as soon as it commits. The periodic run
(saas_platform.schedule) covers a missed signal."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from tenants.events import events_published, events_wanted_register

from .services import payment_events_want

events_wanted_register(payment_events_want)


@receiver(events_published)
def _write_back_soon(**_: Any) -> None:
    from integrations.tasks import payment_writebacks_run

    payment_writebacks_run.delay()
