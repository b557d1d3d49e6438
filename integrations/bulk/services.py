"""Starting a bulk job over many locations, and running it.

A job is started with one pending item per location, in one transaction with its audit entry,
and queued after commit. The runner claims the job, then takes pending items one at a time, each
under a row lock (`skip_locked`) in a transaction of its own that also records the outcome and
bumps the job's progress: a killed worker loses at most the item it was on (redelivered, the
task is acknowledged late, it resumes with the items still pending), and two workers on the same
job never process one item twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from integrations.connectors.models import ExternalConnection
from saas_platform.kernel.errors import ApplicationError, NotFound
from saas_platform.kernel.logging import get_logger
from tenants import services as tenant_services
from tenants.models import Agency, Location, User

from .actions import ACTIONS
from .models import BulkJob, BulkJobItem
from .skipped import Skipped

log = get_logger(__name__)

MAX_LOCATIONS = 500
ITEM = BulkJobItem.Status


def _location_ids(locations: Iterable[Location | int | str]) -> set[int]:
    try:
        return {int(loc.pk if isinstance(loc, Location) else loc) for loc in locations}
    except (TypeError, ValueError) as exc:
        raise NotFound("Some of the chosen locations do not exist.") from exc


TEMPLATE_KINDS = (BulkJob.Kind.APPLY_ROUTING_TEMPLATE, BulkJob.Kind.APPLY_REPORT_TEMPLATE)


def _clean_template(*, agency: Agency, params: Mapping[str, Any]) -> dict[str, Any]:
    try:
        location_id = int(params.get("template_location_id"))  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ApplicationError("Choose the template location.") from exc
    template = Location.objects.for_agency(agency).filter(pk=location_id).first()
    if template is None:  # another agency's location looks just like a missing one
        raise NotFound("That template location does not exist.")
    return {"template_location_id": template.pk, "template_location_name": template.name}


def _clean_params(*, agency: Agency, kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Only what the kind needs is kept (params are shown in the admin: never secrets)."""
    if kind in TEMPLATE_KINDS:
        return _clean_template(agency=agency, params=params)
    if kind != BulkJob.Kind.APPLY_CONNECTION:
        return {}
    try:
        connection_id = int(params.get("connection_id"))  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ApplicationError("Choose the connection to apply.") from exc
    template = ExternalConnection.objects.for_agency(agency).filter(pk=connection_id).first()
    if template is None:  # another agency's connection looks just like a missing one
        raise NotFound("That connection does not exist.")
    return {"connection_id": template.pk, "connection_name": template.name}


def bulk_job_start(
    *,
    agency: Agency,
    kind: str,
    locations: Iterable[Location | int | str],
    params: Mapping[str, Any] | None = None,
    acting_user: User | None,
) -> BulkJob:
    """Validate, create the job and its items, audit, and queue the run after commit."""
    from integrations.tasks import bulk_job_run

    if kind not in BulkJob.Kind.values:
        raise ApplicationError(f"Unknown bulk action {kind!r}.")
    ids = _location_ids(locations)
    if not ids:
        raise ApplicationError("Choose at least one location.")
    if len(ids) > MAX_LOCATIONS:
        raise ApplicationError(f"Choose at most {MAX_LOCATIONS} locations per job.")
    found = list(Location.objects.for_agency(agency).filter(pk__in=ids).order_by("name", "pk"))
    if len(found) != len(ids):
        raise NotFound("Some of the chosen locations do not exist.")
    cleaned = _clean_params(agency=agency, kind=kind, params=params or {})
    with transaction.atomic():
        job = BulkJob.objects.create(
            agency=agency, kind=kind, params=cleaned, total=len(found), created_by=acting_user
        )
        BulkJobItem.objects.bulk_create(
            [BulkJobItem(agency=agency, job=job, location=loc) for loc in found]
        )
        tenant_services.audit_record(
            action="bulk_job.started",
            target=job,
            acting_user=acting_user,
            agency=agency,
            changes={
                "kind": (None, kind),
                "locations": (None, len(found)),
                "params": (None, cleaned),
            },
        )
        transaction.on_commit(lambda: bulk_job_run.delay(job.pk))
    return job


def _claim(job_pk: int) -> BulkJob | None:
    """queued → running (a running job is resumed: its worker died). A job locked by another
    claimer is left to it."""
    with transaction.atomic():
        job: BulkJob | None = (
            BulkJob.objects.unscoped()
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("agency", "created_by")
            .filter(pk=job_pk, status__in=[BulkJob.Status.QUEUED, BulkJob.Status.RUNNING])
            .first()
        )
        if job is None:
            return None
        if job.status == BulkJob.Status.QUEUED:
            job.status, job.started_at = BulkJob.Status.RUNNING, timezone.now()
            job.save(update_fields=["status", "started_at", "updated_at"])
    return job


def _outcome(item: BulkJobItem, job: BulkJob) -> tuple[str, str]:
    action = ACTIONS[job.kind]
    try:
        with transaction.atomic():  # a failed location leaves nothing half done
            return ITEM.SUCCEEDED, action(item, job)
    except Skipped as skipped:
        return ITEM.SKIPPED, skipped.message
    except ApplicationError as error:
        return ITEM.FAILED, error.message
    except Exception:
        # A bug must not stall the other locations (nor leave the job running forever).
        log.exception("bulk.item.crashed", job_id=job.pk, location_id=item.location_id)
        return ITEM.FAILED, "An unexpected error stopped this location (logged for the team)."


def _process_next(job: BulkJob) -> bool:
    """Process one pending item; False when none is left to take."""
    with transaction.atomic():
        item: BulkJobItem | None = (
            BulkJobItem.objects.for_agency(job.agency)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("location", "location__agency")
            .filter(job=job, status=ITEM.PENDING)
            .order_by("pk")
            .first()
        )
        if item is None:
            return False
        item.status, item.message = _outcome(item, job)
        item.finished_at = timezone.now()
        item.save(update_fields=["status", "message", "finished_at"])
        # F(): two workers on one job both count.
        BulkJob.objects.for_agency(job.agency).filter(pk=job.pk).update(
            done=F("done") + 1,
            failed=F("failed") + int(item.status == ITEM.FAILED),
            updated_at=timezone.now(),
        )
    log.info("bulk.item.done", job_id=job.pk, location_id=item.location_id, status=item.status)
    return True


def _finish(job: BulkJob) -> None:
    items = BulkJobItem.objects.for_agency(job.agency).filter(job=job)
    if items.filter(status=ITEM.PENDING).exists():
        return  # another worker is on the last ones; it finishes the job
    counts = items.aggregate(done=Count("pk"), failed=Count("pk", filter=Q(status=ITEM.FAILED)))
    if counts["failed"] == 0:
        status = BulkJob.Status.SUCCEEDED
    elif counts["failed"] == counts["done"]:
        status = BulkJob.Status.FAILED
    else:
        status = BulkJob.Status.PARTIAL
    # Two workers may both get here; the status guard lets one finish it.
    finished = (
        BulkJob.objects.for_agency(job.agency)
        .filter(pk=job.pk, status=BulkJob.Status.RUNNING)
        .update(status=status, finished_at=timezone.now(), updated_at=timezone.now(), **counts)
    )
    if finished:
        log.info("bulk.job.finished", job_id=job.pk, status=status, **counts)


def bulk_job_run(*, job_pk: int) -> BulkJob | None:
    """Run (or resume) a job; returns it as it stands, or None if it was not runnable."""
    job = _claim(job_pk)
    if job is None:
        return None
    while _process_next(job):
        pass
    _finish(job)
    finished: BulkJob = BulkJob.objects.for_agency(job.agency).get(pk=job.pk)
    return finished
