"""`manage.py reporting_rebuild <location>… | --all`: rebuild reporting rollups now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.reporting.dirty import report_location_rebuild
from tenants.models import Location


class Command(BaseCommand):
    help = "Rebuild the reporting rollups of some locations (or all) from the mirror."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("locations", nargs="*", help="GHL location ids or numeric ids")
        parser.add_argument("--all", dest="every", action="store_true", help="every location")

    def handle(self, *args: Any, locations: list[str], every: bool, **options: Any) -> None:
        if every == bool(locations):
            raise CommandError("Name one or more locations, or pass --all (not both).")
        found: list[Location] = []
        if every:
            found = list(Location.objects.unscoped().order_by("pk"))
        for ref in locations:
            match = Location.objects.unscoped().filter(ghl_location_id=ref).first()
            if match is None and ref.isdigit():
                match = Location.objects.unscoped().filter(pk=int(ref)).first()
            if match is None:
                raise CommandError(f"No location with GHL id or id {ref!r}.")
            found.append(match)
        for location in found:
            ms = report_location_rebuild(location_id=location.pk)
            self.stdout.write(f"{location}: rebuilt in {ms} ms")
