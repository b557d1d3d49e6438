"""Activating an industry pack on a location.

An activation run reads the location's contact custom fields from GHL, adopts those that already
match a pack field (the id recorded last time, else the same name, else the same `fieldKey`) and
creates only the missing ones, then matches the pack's pipelines and stages by name. GHL's public
API cannot create pipelines, so missing ones are recorded with what the user has to create.

Runs on one location and pack are serialised by a lock on the activation row, held for the whole
run: a second run waits, then finds every field in place and creates none. The field map is saved
with the outcome even when GHL fails midway, and the next run starts from GHL's list again, so a
field created just before a failure (or whose answer was lost) is adopted, never duplicated.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils import timezone

from integrations.ghl import operations as ops
from integrations.ghl.client import GhlClient
from integrations.ghl.errors import GhlError
from integrations.ghl.governor import Priority
from integrations.mirror.writer import mirror_upsert
from integrations.sync.engine import location_installation
from saas_platform.kernel.errors import ApplicationError
from saas_platform.kernel.logging import get_logger
from tenants.models import Location, User
from tenants.services import audit_record

from .catalog import Pack, PackField, pack_get
from .models import PackActivation

log = get_logger(__name__)

NOT_CONNECTED = "The location is not connected to GHL: connect it, then activate the pack again."


def _fold(text: Any) -> str:
    return " ".join(str(text or "").split()).casefold()


def _field_key(name: str) -> str:
    """GHL's key for a contact field of that name (`contact.<snake_case name>`)."""
    return "contact." + (re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "field")


def _find(
    field: PackField, recorded: str | None, existing: list[ops.GhlCustomField]
) -> ops.GhlCustomField | None:
    for matches in (
        lambda f: recorded and f.get("id") == recorded,
        lambda f: _fold(f.get("name")) == _fold(field.name),
        lambda f: f.get("fieldKey") == _field_key(field.name),
        lambda f: f.get("fieldKey") == f"contact.{field.key}",
    ):
        found = next((f for f in existing if matches(f)), None)
        if found is not None:
            return found
    return None


def _fields_ensure(
    ghl: GhlClient, location_id: str, pack: Pack, activation: PackActivation, created: list[str]
) -> None:
    """Map every pack field to a GHL field, creating what is missing (their keys are added to
    `created`). `activation.fields` is updated as it goes (kept when GHL fails part way)."""
    listed: list[ops.GhlCustomField] = ghl.run(ops.custom_fields(location_id=location_id))
    existing = list(listed)
    notes: list[str] = []
    activation.notes = notes
    for field in pack.fields:
        found = _find(field, activation.fields.get(field.key), existing)
        if found is None:
            found = ghl.run(
                ops.custom_field_create(
                    location_id=location_id,
                    name=field.name,
                    data_type=field.data_type,
                    options=field.options,
                    placeholder=field.placeholder,
                )
            )
            existing.append(found)
            created.append(field.key)
        elif found.get("dataType") and found.get("dataType") != field.data_type:
            notes.append(
                f"{field.name}: adopted the existing GHL field {found.get('name')!r} of type "
                f"{found.get('dataType')} (the pack would create {field.data_type})."
            )
        activation.fields[field.key] = str(found["id"])


def _pipelines_match(
    ghl: GhlClient, location: Location, pack: Pack, activation: PackActivation
) -> None:
    answer = ghl.run(ops.pipelines(location_id=location.ghl_location_id or ""))
    pipelines = [p for p in answer.get("pipelines") or [] if isinstance(p, dict)]
    if pipelines:  # a pipeline the user just created is usable in routing rules at once
        mirror_upsert(location_id=location.pk, kind="pipeline", records=pipelines)
    by_name = {_fold(p.get("name")): p for p in pipelines}
    matched, missing = [], []
    for wanted in pack.pipelines:
        pipeline = by_name.get(_fold(wanted.name))
        if pipeline is None:
            missing.append({"name": wanted.name, "stages": list(wanted.stages)})
            continue
        stages = {_fold(s.get("name")): s for s in pipeline.get("stages") or []}
        matched.append(
            {
                "name": wanted.name,
                "id": str(pipeline["id"]),
                "stages": {
                    s: str(stages[_fold(s)]["id"]) for s in wanted.stages if _fold(s) in stages
                },
                "missing_stages": [s for s in wanted.stages if _fold(s) not in stages],
            }
        )
    activation.pipelines_matched, activation.pipelines_missing = matched, missing


def pipeline_instructions(*, activation: PackActivation) -> list[str]:
    """What the user has to do in GHL for the pack's pipelines (empty: nothing)."""
    steps = [
        f"Create the pipeline “{p['name']}” in GHL (Opportunities → Pipelines) with the stages "
        f"{', '.join(p['stages'])}."
        for p in activation.pipelines_missing
    ]
    steps += [
        f"Add the stages {', '.join(p['missing_stages'])} to the pipeline “{p['name']}” in GHL."
        for p in activation.pipelines_matched
        if p.get("missing_stages")
    ]
    if steps:
        steps.append("Then activate the pack again: it matches them by name.")
    return steps


def _fail_if_present(location: Location, pack_key: str, message: str) -> None:
    PackActivation.objects.for_location(location).filter(pack_key=pack_key).update(
        status=PackActivation.Status.FAILED, error=message, last_run_at=timezone.now()
    )


def pack_activate(
    *, location: Location, pack_key: str, acting_user: User | None = None
) -> PackActivation:
    """Activate (or finish activating, or check again) a pack on a location. Idempotent.

    A GHL refusal ends the run as FAILED with GHL's message; a transient GHL error (busy, down,
    timing out) is recorded the same way and then raised, for a task to retry."""
    pack = pack_get(key=pack_key)
    installation = location_installation(location)
    if installation is None or not location.ghl_location_id:
        _fail_if_present(location, pack.key, NOT_CONNECTED)
        raise ApplicationError(NOT_CONNECTED)
    failure: GhlError | None = None
    with transaction.atomic():
        rows = PackActivation.objects.for_location(location)
        rows.get_or_create(location=location, pack_key=pack.key)
        activation: PackActivation = rows.select_for_update().get(pack_key=pack.key)
        old_status, old_fields = activation.status, dict(activation.fields)
        created: list[str] = []
        try:
            with GhlClient(installation, priority=Priority.INTERACTIVE) as ghl:
                _fields_ensure(ghl, location.ghl_location_id, pack, activation, created)
                _pipelines_match(ghl, location, pack, activation)
        except GhlError as exc:
            failure = exc
            activation.status = PackActivation.Status.FAILED
            activation.error = f"GHL failed during the activation: {exc.message}"[:2000]
        else:
            complete = not pipeline_instructions(activation=activation)
            activation.status = (
                PackActivation.Status.ACTIVE
                if complete
                else PackActivation.Status.PIPELINES_MISSING
            )
            activation.error = ""
            activation.activated_at = activation.activated_at or timezone.now()
            activation.pack_version = pack.version  # the version applied in full
        activation.last_run_at = timezone.now()
        activation.requested_by = acting_user or activation.requested_by
        activation.save()
        audit_record(
            action="pack.activation_failed" if failure else "pack.activated",
            target=activation,
            acting_user=acting_user,
            agency=location.agency,
            location=location,
            changes={
                "status": (old_status, activation.status),
                "fields": (old_fields, activation.fields),
                "fields_created": (None, created),
            },
        )
    log.info(
        "packs.activation.finished",
        location_id=location.pk,
        pack=pack.key,
        status=str(activation.status),
        created=len(created),
    )
    if failure is not None and failure.retryable:
        raise failure
    return activation


def pack_activation_request(
    *, location: Location, pack_key: str, acting_user: User | None = None
) -> PackActivation:
    """Queue an activation: the row shows QUEUED until the task has run it (after commit)."""
    from integrations.tasks import pack_activate_run

    pack = pack_get(key=pack_key)
    activation: PackActivation
    with transaction.atomic():
        activation, created = PackActivation.objects.for_location(location).get_or_create(
            location=location, pack_key=pack.key, defaults={"requested_by": acting_user}
        )
        if not created:
            activation.status, activation.error = PackActivation.Status.QUEUED, ""
            activation.requested_by = acting_user or activation.requested_by
            activation.save(update_fields=["status", "error", "requested_by", "updated_at"])
        audit_record(
            action="pack.activation_requested",
            target=activation,
            acting_user=acting_user,
            agency=location.agency,
            location=location,
            changes={"pack": (None, pack.key)},
        )
        user_pk = acting_user.pk if acting_user else None
        transaction.on_commit(lambda: pack_activate_run.delay(location.pk, pack.key, user_pk))
    return activation
