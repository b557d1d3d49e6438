"""Wiring to tenants' event outbox: billing's "payment.succeeded" is always wanted (it exists only
for an automation), and is written back to GHL as soon as it commits. The periodic run
(saas_platform.schedule) covers a missed signal."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from integrations.mirror.models import MirrorPipeline
from tenants.events import events_published, events_wanted_register
from tenants.models import Location
from tenants.portal import PipelineChoice, register_pipelines_provider

from .services import payment_events_want

events_wanted_register(payment_events_want)


@receiver(events_published)
def _write_back_soon(**_: Any) -> None:
    from integrations.tasks import payment_writebacks_run

    payment_writebacks_run.delay()


def location_pipeline_choices(location: Location) -> list[PipelineChoice]:
    return [
        PipelineChoice(
            id=pipeline.ghl_id,
            name=pipeline.name,
            stages=tuple((str(s.get("id")), str(s.get("name"))) for s in pipeline.stages),
        )
        for pipeline in MirrorPipeline.objects.for_location(location).order_by("name", "ghl_id")
    ]


register_pipelines_provider(location_pipeline_choices)
