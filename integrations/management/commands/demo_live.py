"""`manage.py demo_live [--sink URL] [--wait SECONDS]`: routing rules and an outbound webhook
endpoint for the demo world, once its locations are connected to GHL and mirrored."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.demo_live import demo_live_prepare, demo_locations_waiting
from saas_platform.kernel.errors import ApplicationError


class Command(BaseCommand):
    help = "Prepare the demo locations for live traffic: pack, agents, a rule; outbound webhooks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sink", help="URL the demo agencies' outbound webhooks go to")
        parser.add_argument(
            "--wait",
            type=float,
            default=0,
            help="seconds to wait for the demo locations to be connected and mirrored",
        )

    def handle(self, *args: Any, sink: str | None, wait: float, **options: Any) -> None:
        deadline = time.monotonic() + wait
        while (waiting := demo_locations_waiting()) and time.monotonic() < deadline:
            time.sleep(2)
        for location in waiting:
            self.stderr.write(f"{location.name}: not connected or not mirrored yet")
        try:
            lines = demo_live_prepare(sink_url=sink)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        for line in lines:
            self.stdout.write(line)
