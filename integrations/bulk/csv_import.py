"""One run of a contact import: the stored file's rows, from `done_rows` on, into GHL.

Each row is checked first (a bad row is reported with its number and reason and never sent),
then matched to a contact of the location in the mirror (GHL id, else e-mail without case, else
phone) and sent to GHL as an update of the fields that differ, or as a new contact; GHL's answer
is written to the mirror at once, so a later row with the same e-mail finds the contact the
earlier row created. Empty cells leave a field as it is, and tags are added, never removed: an
import cannot wipe data a file does not mention. A row whose values GHL already holds is not
sent at all, which makes importing an export again a no-op.

Progress, counts, the error report and the position (`done_rows`) are saved together every
`PROGRESS_EVERY` rows and when GHL stops answering (rate limited, down, timing out, not
connected): the import then ends as failed with the file kept, and *Resume* continues with the
first row not done. A killed worker's import resumes from its last save; rows between that save
and the kill are matched in the mirror on the second pass, so they are not created twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import F, Func, Value
from django.db.models.functions import Concat, Lower
from django.utils import timezone

from integrations.connectors.fields import STANDARD, TRUE, canonical, ghl_payload, ghl_value
from integrations.ghl import operations as ops
from integrations.ghl.client import GhlClient
from integrations.ghl.errors import GhlError, GhlNotFound, GhlValidationError
from integrations.ghl.governor import Priority
from integrations.mirror.models import MirrorContact
from integrations.mirror.writer import mirror_upsert
from integrations.sync.engine import location_installation
from saas_platform.kernel.errors import ApplicationError
from saas_platform.kernel.logging import get_logger

from .csv_table import (
    GHL_ID,
    PHONE_CHARS,
    CsvTable,
    csv_table_read,
    error_report_header,
    error_report_line,
    field_label,
    unescape,
)
from .models import ContactImport

log = get_logger(__name__)

PROGRESS_EVERY = 50
FALSE = frozenset({"false", "no", "n", "0", "off", ""})
Status = ContactImport.Status


class _Stop(Exception):
    """GHL cannot take more rows now; the import stops where it is, resumable."""


def _max_length(name: str) -> int | None:
    column = MirrorContact._meta.get_field(STANDARD[name][0])
    return getattr(column, "max_length", None)


def _phone_key(value: str) -> str:
    return re.sub(r"[^0-9+]", "", value)


class PhoneKey(Func):
    """`_phone_key` in SQL: "+971 50 (123) 45-67" and "+971501234567" are the same number."""

    function = "regexp_replace"

    def __init__(self, expression: str) -> None:
        super().__init__(F(expression), Value("[^0-9+]"), Value(""), Value("g"))


def _check(target: str, value: str) -> str | None:
    """Why a (non-empty) value cannot go to GHL, or None."""
    label = field_label(target)
    if target == "email":
        try:
            validate_email(value)
        except ValidationError:
            return f"{label}: “{value}” is not a valid e-mail address"
    elif target == "phone":
        digits = len(re.sub(r"\D", "", value))
        if not PHONE_CHARS.fullmatch(value) or not 7 <= digits <= 15:
            return f"{label}: “{value}” is not a phone number (7 to 15 digits)"
    elif target == "country" and not re.fullmatch(r"[A-Za-z]{2}", value):
        return f"{label}: use the 2-letter country code (AE, US, …), not “{value}”"
    elif target == "dnd" and value.lower() not in TRUE | FALSE:
        return f"{label}: “{value}” is not yes or no (true/false, yes/no, 1/0)"
    elif target == "tags":
        if any(len(tag.strip()) > 200 for tag in value.split(",")):
            return f"{label}: a tag is longer than 200 characters"
    elif target == GHL_ID:
        if len(value) > 64:
            return f"{label}: “{value[:20]}…” is not a GHL id"
    elif target in STANDARD and len(value) > (_max_length(target) or len(value)):
        return f"{label}: longer than {_max_length(target)} characters"
    return None


def _row_values(cells: list[str], columns: list[tuple[int, str]]) -> tuple[dict[str, str], str]:
    """The row's non-empty mapped values as canonical text, and why it is refused ("" if not)."""
    values: dict[str, str] = {}
    reasons: list[str] = []
    for index, target in columns:
        raw = unescape(cells[index].strip()) if index < len(cells) else ""
        if not raw:
            continue
        problem = _check(target, raw)
        if problem:
            reasons.append(problem)
        elif target == GHL_ID:
            values[target] = raw
        else:
            values[target] = canonical(target, raw.upper() if target == "country" else raw)
    return values, "; ".join(reasons)


def _changes(contact: MirrorContact, values: dict[str, str]) -> dict[str, str]:
    """The values GHL does not hold yet (tags: the union with the contact's own)."""
    changes: dict[str, str] = {}
    for target, value in values.items():
        current = ghl_value(contact, target)
        if target == "tags":
            union = canonical("tags", f"{current},{value}")
            if union != current:
                changes[target] = union
        elif target == "phone":
            if _phone_key(value) != _phone_key(current):
                changes[target] = value
        elif value != current:
            changes[target] = value
    return changes


@dataclass
class _Run:
    job: ContactImport
    table: CsvTable
    ghl: GhlClient
    columns: list[tuple[int, str]]
    report: list[str] = field(default_factory=list)  # lines not saved yet

    def contacts(self) -> Any:
        return MirrorContact.objects.for_location(self.job.location)

    def match(self, values: dict[str, str]) -> MirrorContact | None:
        contacts = self.contacts().order_by("pk")
        found = None
        if values.get(GHL_ID):
            found = contacts.filter(ghl_id=values[GHL_ID]).first()
        if found is None and values.get("email"):
            found = contacts.annotate(e=Lower("email")).filter(e=values["email"]).first()
        if found is None and values.get("phone"):  # as GHL stores it, or written differently
            key = _phone_key(values["phone"])
            found = contacts.filter(phone=values["phone"]).first()
            found = found or contacts.annotate(k=PhoneKey("phone")).filter(k=key).first()
        return found

    def row(self, cells: list[str]) -> str | None:
        """Import one row; why it is refused, or None."""
        if len(cells) > len(self.table.headers):
            return "more cells than the header has columns"
        values, problem = _row_values(cells, self.columns)
        if problem:
            return problem
        contact = self.match(values)
        values.pop(GHL_ID, None)
        try:
            if contact is not None:
                changes = _changes(contact, values)
                if not changes:
                    return None  # GHL holds these values already
                operation = ops.contact_update(
                    contact_id=contact.ghl_id, fields=ghl_payload(changes)
                )
            elif values.get("email") or values.get("phone"):
                location_id = self.job.location.ghl_location_id or ""
                operation = ops.contact_create(location_id=location_id, fields=ghl_payload(values))
            else:
                return "no e-mail or phone to find or create the contact by"
            answer = self.ghl.run(operation)
        except GhlValidationError as exc:
            return "GHL refused it: " + "; ".join(exc.messages)
        except GhlNotFound:
            return "the contact was deleted in GHL"
        except GhlError as exc:
            raise _Stop(exc.message) from exc
        mirror_upsert(location_id=self.job.location_id, kind="contact", records=[answer])
        if contact is None:
            self.job.created += 1
        else:
            self.job.updated += 1
        return None

    def refuse(self, number: int, cells: list[str], reason: str) -> None:
        self.job.failed_rows += 1
        self.report.append(error_report_line(number, reason, cells))

    def save(self, **extra: Any) -> None:
        """Progress, position and the new report lines, in one statement."""
        job, lines = self.job, "".join(self.report)
        ContactImport.objects.for_location(job.location).filter(pk=job.pk).update(
            done_rows=job.done_rows,
            created=job.created,
            updated=job.updated,
            failed_rows=job.failed_rows,
            error_report=Concat(F("error_report"), Value(lines)) if lines else F("error_report"),
            updated_at=timezone.now(),  # a heartbeat: the sweep tells a live import by it
            **extra,
        )
        self.report.clear()


def _claim(import_pk: int) -> ContactImport | None:
    claimed = (
        ContactImport.objects.unscoped()
        .filter(pk=import_pk, status=Status.QUEUED)
        .update(status=Status.RUNNING, started_at=timezone.now(), updated_at=timezone.now())
    )
    if not claimed:
        return None
    job: ContactImport = (
        ContactImport.objects.unscoped().select_related("location__agency").get(pk=import_pk)
    )
    return job


def _finish(job: ContactImport, **fields: Any) -> None:
    ContactImport.objects.for_location(job.location).filter(pk=job.pk).update(
        finished_at=timezone.now(), **fields
    )


def import_run(*, import_pk: int) -> ContactImport | None:
    """Import the rows of a queued import from `done_rows` on; None when it is not queued
    (already running, or finished)."""
    job = _claim(import_pk)
    if job is None:
        return None
    try:
        table = csv_table_read(content=bytes(job.content))
    except ApplicationError as exc:  # checked at upload; only a changed rule gets here
        _finish(job, status=Status.FAILED, error=exc.message, content=b"")
        return job
    position = {name: index for index, name in enumerate(table.headers)}
    columns = [(position[c], target) for c, target in job.mapping.items() if c in position]
    installation = location_installation(job.location)
    if installation is None:
        _finish(job, status=Status.FAILED, error="The location is not connected to GHL; "
                "reconnect it, then resume the import.")  # fmt: skip
        return job
    with GhlClient(installation, priority=Priority.BULK) as ghl:
        run = _Run(job, table, ghl, columns)
        if not job.error_report:
            run.report.append(error_report_header(table.headers))
        try:
            for index in range(job.done_rows, len(table.rows)):
                cells = table.rows[index]
                reason = run.row(cells) if any(c.strip() for c in cells) else None
                if reason:  # numbered as a spreadsheet shows it: the header is row 1
                    run.refuse(index + 2, cells, reason)
                job.done_rows = index + 1
                if job.done_rows % PROGRESS_EVERY == 0:
                    run.save()
        except _Stop as stop:
            row = job.done_rows + 2
            run.save(
                status=Status.FAILED,
                finished_at=timezone.now(),
                error=f"GHL did not take row {row} ({stop}). The rows before it are imported; "
                f"Resume continues from row {row}.",
            )
            log.warning("bulk.contact_import.stopped", import_id=job.pk, row=row, error=str(stop))
            return job
        except Exception:
            run.save(status=Status.FAILED, finished_at=timezone.now(), error="Unexpected error; "
                     "Resume continues after the last row done.")  # fmt: skip
            log.exception("bulk.contact_import.crashed", import_id=job.pk)
            raise
    imported = table.data_rows() - job.failed_rows  # created, updated or already so
    status = Status.PARTIAL if job.failed_rows else Status.SUCCEEDED
    if job.failed_rows and not imported:
        status = Status.FAILED
    run.save(
        status=status,
        finished_at=timezone.now(),
        content=b"",  # people's data: not kept once imported
        error="" if status != Status.FAILED else "No row could be imported; see the error report.",
    )
    if not job.failed_rows:  # only the header: no report to offer
        ContactImport.objects.for_location(job.location).filter(pk=job.pk).update(error_report="")
    return job


STALLED_AFTER = timedelta(minutes=15)


def imports_stalled_sweep(*, now: datetime | None = None) -> int:
    """Imports whose worker died (no progress for STALLED_AFTER) become failed with their
    position kept, so a person can resume them; returns how many."""
    cutoff = (now or timezone.now()) - STALLED_AFTER
    return (
        ContactImport.objects.unscoped()
        .filter(status=Status.RUNNING, updated_at__lt=cutoff)
        .update(
            status=Status.FAILED,
            error="The import stopped (its worker was restarted); resume it to finish the rows "
            "left.",
        )
    )
