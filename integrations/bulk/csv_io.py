"""CSV export and import of a location's contacts: the services behind the agency admin's
screens (and, later, the portal's).

* Export streams the mirror as CSV (UTF-8 with a BOM so Excel reads accents), in constant memory.
* Import is three steps: `contact_import_inspect` reads an upload and suggests a mapping (nothing
  stored), `contact_import_start` stores the file and queues the task, `contact_import_run` (the
  task, in `csv_import`) writes the rows to GHL with progress, a row-level error report, and a
  position that a resumed run continues from.

Every cell we write starts with an apostrophe when it would start a formula (OWASP "CSV
injection"); the import takes that apostrophe off again, so an export imports back unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Func, QuerySet
from django.utils import timezone
from django.utils.text import slugify

from integrations.connectors.fields import CUSTOM, STANDARD, ghl_value
from integrations.mirror.models import MirrorContact
from saas_platform.kernel.errors import ApplicationError
from tenants import services as tenant_services
from tenants.models import Location, User

from .csv_import import import_run
from .csv_table import (
    BOM,
    GHL_ID,
    LABELS,
    CsvTable,
    batches,
    csv_line,
    csv_lines,
    csv_table_read,
    field_label,
    suggested_target,
)
from .models import ContactImport

# --- export --------------------------------------------------------------------------------------


def custom_field_ids(*, location: Location) -> list[str]:
    """The custom field ids the location's mirrored contacts hold values for."""
    keys = (
        MirrorContact.objects.for_location(location)
        .annotate(key=Func(F("custom_fields"), function="jsonb_object_keys"))
        .values_list("key", flat=True)
        .order_by("key")
        .distinct()
    )
    return list(keys)


def contacts_csv_export(
    *,
    location: Location,
    fields: Sequence[str] | None = None,
    contacts: QuerySet[MirrorContact] | None = None,
) -> Iterator[bytes]:
    """The location's mirrored contacts (or those of `contacts` among them) as CSV bytes: a GHL
    id column, then `fields` (default: every standard field and every custom field in use).
    Rows are read 2,000 at a time from a server-side cursor, so any size streams."""
    if fields is None:
        fields = [*STANDARD, *(CUSTOM + key for key in custom_field_ids(location=location))]
    unknown = [f for f in fields if f not in STANDARD and not f.startswith(CUSTOM)]
    if unknown:  # refused before the first byte, so a caller can still answer with a message
        raise ApplicationError(f"Not a GHL contact field: {', '.join(unknown)}.")
    queryset = MirrorContact.objects.for_location(location)
    if contacts is not None:
        queryset = queryset.filter(pk__in=contacts.values("pk"))
    columns = {STANDARD[f][0] for f in fields if f in STANDARD}
    if any(f.startswith(CUSTOM) for f in fields):
        columns.add("custom_fields")
    rows = queryset.order_by("pk").only("ghl_id", *columns).iterator(chunk_size=2000)

    def stream() -> Iterator[bytes]:
        yield (BOM + csv_line([LABELS[GHL_ID], *map(field_label, fields)])).encode()
        for batch in batches(rows, 500):
            yield csv_lines([c.ghl_id, *(ghl_value(c, f) for f in fields)] for c in batch).encode()

    return stream()


def contacts_csv_filename(*, location: Location) -> str:
    return f"contacts-{slugify(location.name) or location.pk}-{timezone.localdate():%Y-%m-%d}.csv"


@dataclass(frozen=True)
class UploadPreview:
    table: CsvTable
    suggested: dict[str, str]  # column → GHL field, "" to ignore


def contact_import_inspect(*, content: bytes) -> UploadPreview:
    """Step 1: read an upload (nothing is stored) and suggest a mapping of its columns."""
    table = csv_table_read(content=content)
    return UploadPreview(table, {h: suggested_target(h) for h in table.headers})


def mapping_targets(*, location: Location) -> list[tuple[str, str]]:
    """What a column can be mapped to (besides ignoring it)."""
    custom = [(CUSTOM + key, f"Custom field {key}") for key in custom_field_ids(location=location)]
    return (
        [(GHL_ID, "GHL id (to find the contact)")]
        + [(name, LABELS[name]) for name in STANDARD]
        + custom
    )


def contact_import_mapping_clean(
    *, headers: Sequence[str], mapping: Mapping[str, str]
) -> dict[str, str]:
    """The mapping without ignored columns; refuses one that cannot work."""
    cleaned = {column: target for column, target in mapping.items() if target}
    unknown_columns = set(cleaned) - set(headers)
    if unknown_columns:
        raise ApplicationError(f"The file has no column {sorted(unknown_columns)[0]!r}.")
    for target in cleaned.values():
        if target != GHL_ID and target not in STANDARD and not target.startswith(CUSTOM):
            raise ApplicationError(f"{target!r} is not a GHL contact field.")
    targets = list(cleaned.values())
    repeated = sorted({field_label(t) for t in targets if targets.count(t) > 1})
    if repeated:
        raise ApplicationError(f"Map each field from one column only: {', '.join(repeated)}.")
    if not cleaned:
        raise ApplicationError("No column is mapped to a GHL field.")
    if "email" not in targets and "phone" not in targets:
        raise ApplicationError(
            "Map a column to Email or Phone: existing contacts are found by them, so the import "
            "does not create duplicates."
        )
    return cleaned


def contact_import_start(
    *,
    location: Location,
    file_name: str,
    content: bytes,
    mapping: Mapping[str, str],
    acting_user: User | None,
) -> ContactImport:
    """Step 2: store the file and its mapping and queue the import (after the commit)."""
    from integrations.tasks import contact_import_run as task

    table = csv_table_read(content=content)
    cleaned = contact_import_mapping_clean(headers=table.headers, mapping=mapping)
    with transaction.atomic():
        job = ContactImport.objects.create(
            location=location,
            file_name=file_name[:255],
            content=content,
            mapping=cleaned,
            total_rows=len(table.rows),
            created_by=acting_user,
        )
        tenant_services.audit_record(
            action="contacts.import_started",
            target=job,
            acting_user=acting_user,
            agency=location.agency,
            location=location,
            changes={"rows": (None, len(table.rows)), "mapping": (None, cleaned)},
        )
        transaction.on_commit(lambda: task.delay(job.pk))
    return job


def contact_import_resume(*, contact_import: ContactImport) -> None:
    """Queue again an import that GHL's unavailability stopped; it continues after the rows
    already done."""
    from integrations.tasks import contact_import_run as task

    resumable = ContactImport.objects.for_location(contact_import.location).filter(
        pk=contact_import.pk, status=ContactImport.Status.FAILED, done_rows__lt=F("total_rows")
    )
    if not resumable.exclude(content=b"").update(
        status=ContactImport.Status.QUEUED, error="", finished_at=None
    ):
        raise ApplicationError(
            f"{contact_import}: only an import stopped before its end (GHL unavailable, location "
            "disconnected) can be resumed; this one has nothing left to do."
        )
    transaction.on_commit(lambda: task.delay(contact_import.pk))


def contact_import_run(*, import_pk: int) -> ContactImport | None:
    """Step 3, the task: import the rows not done yet (None: the import is not queued)."""
    return import_run(import_pk=import_pk)
