"""`manage.py rotate_token_keys`: re-encrypt every stored secret under the newest key.

Rotation: put a new key first in TOKEN_ENCRYPTION_KEYS (keep the old ones), deploy, run this,
then drop the old key from the list. Safe while the platform runs (see kernel.rotation)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saas_platform.kernel.rotation import rotate_all


class Command(BaseCommand):
    help = "Re-encrypt every encrypted column under the newest TOKEN_ENCRYPTION_KEYS key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would change, write nothing"
        )

    def handle(self, *args: Any, batch_size: int, dry_run: bool, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        reports = rotate_all(batch_size=batch_size, dry_run=dry_run)
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        for report in reports:
            self.stdout.write(
                f"{report.table}.{report.column}: {report.rows} rows, {verb} {report.rotated}, "
                f"{report.already_newest} already under the newest key"
            )
        if not reports:
            self.stdout.write("No encrypted columns.")
