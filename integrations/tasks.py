"""Celery tasks of the integrations (thin: they take ids and call services)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import transaction

from saas_platform.kernel.errors import NotEntitled
from saas_platform.kernel.logging import get_logger

from .connectors import engine as connectors_engine
from .connectors import services as connectors
from .ghl import install, vault
from .ghl.calllog import call_log_prune
from .ghl.errors import GhlError, GhlRateLimited, GhlServerError, GhlTimeout
from .ghl.models import GhlInstallation
from .ghl.reconnect import reconnect_link_send
from .inbox import services as inbox
from .reporting import dirty as reporting_dirty
from .reporting import email as reporting_email
from .sync import engine as sync_engine
from .sync import schedule as sync_schedule

log = get_logger(__name__)


@shared_task
def inbound_event_process(event_pk: int) -> str | None:
    return inbox.inbound_event_process(event_pk=event_pk)


@shared_task
def inbound_events_drain() -> int:
    """Every pending event, whoever stored it (see inbox.dispatch)."""
    return inbox.inbound_events_drain()


@shared_task
def inbound_events_sweep() -> int:
    return inbox.inbound_events_sweep()


@shared_task
def inbound_events_prune() -> int:
    return inbox.inbound_events_prune()


# GHL busy, down or over budget: try again later rather than leave an install half done.
GHL_TRANSIENT = (GhlRateLimited, GhlServerError, GhlTimeout)


@shared_task(autoretry_for=GHL_TRANSIENT, retry_backoff=60, retry_backoff_max=3600, max_retries=8)
def ghl_company_locations_sync(installation_pk: int) -> dict[str, int]:
    company = GhlInstallation.objects.unscoped().select_related("agency").get(pk=installation_pk)
    result = install.company_locations_sync(company=company)
    return {
        "installed": len(result.installed),
        "already": len(result.already),
        "removed": len(result.removed),
        "failed": len(result.failed),
    }


@shared_task(autoretry_for=GHL_TRANSIENT, retry_backoff=60, retry_backoff_max=3600, max_retries=8)
def ghl_location_install(company_id: str, location_id: str) -> int | None:
    company = install.company_installation(company_id)
    if company is None:
        return None
    return install.location_install_from_company(company=company, location_id=location_id).pk


@shared_task
def ghl_companies_reconcile() -> int:
    """Daily: every connected agency's locations against GHL's list (heals what a lost webhook
    or a failed mint left behind)."""
    companies = GhlInstallation.objects.unscoped().filter(
        ghl_location_id="", status=GhlInstallation.Status.HEALTHY
    )
    ids = list(companies.values_list("pk", flat=True))
    for installation_pk in ids:
        ghl_company_locations_sync.delay(installation_pk)
    return len(ids)


@shared_task
def ghl_tokens_refresh_due() -> int:
    """Rotate tokens that expire within the margin, spread over a few minutes (jitter) so a
    thousand installs made together do not refresh in lockstep."""
    margin = timedelta(seconds=settings.GHL_REFRESH_MARGIN_SECONDS)
    plan = install.token_refresh_plan(within=margin)
    for installation_pk, delay in plan:
        ghl_token_refresh.apply_async((installation_pk,), countdown=delay)
    return len(plan)


@shared_task
def ghl_token_refresh(installation_pk: int) -> bool:
    margin = timedelta(seconds=settings.GHL_REFRESH_MARGIN_SECONDS)
    try:
        vault.access_token(installation_pk, validity=margin)
    except GhlError as exc:
        log.warning(
            "ghl.token.periodic_refresh_failed", installation_id=installation_pk, error=str(exc)
        )
        return False
    return True


@shared_task
def ghl_reconnect_link_send(installation_pk: int) -> int:
    return reconnect_link_send(installation_id=installation_pk)


@shared_task
def ghl_call_log_prune() -> int:
    return call_log_prune()


@shared_task(acks_late=True)
def sync_run_execute(run_pk: int) -> str | None:
    """Runs (or resumes) a sync run; acknowledged only when done, so a killed worker's run is
    delivered again and continues from its cursors."""
    run = sync_engine.sync_run_execute(run_pk=run_pk)
    return None if run is None else str(run.status)


@shared_task
def sync_runs_stalled() -> int:
    """Every 2 minutes: queue again the runs whose worker died (`sync_runs_stalled_requeue`)."""
    return sync_engine.sync_runs_stalled_requeue()


@shared_task
def sync_due_locations() -> int:
    """Every minute: start the incremental pass of each location whose interval has passed."""
    return sync_schedule.incremental_due_start()


@shared_task
def sync_reconcile_all() -> int:
    """Nightly: a reconciliation of every connected location, spread over the night."""
    return sync_schedule.reconcile_all_start()


@shared_task
def external_connections_due() -> int:
    """Queue a run of every connection whose time has come (beat, every minute)."""
    due = connectors.connections_due_claim()
    for connection_pk in due:
        external_connection_run.delay(connection_pk)
    return len(due)


@shared_task
def external_connection_run(connection_pk: int, trigger: str = "schedule") -> str | None:
    run = connectors_engine.connection_run(connection_pk=connection_pk, trigger=trigger)
    return None if run is None else str(run.status)


@shared_task
def contact_import_run(import_pk: int) -> str | None:
    """Imports a queued CSV file's rows into GHL (or resumes one GHL stopped)."""
    from .bulk.csv_io import contact_import_run as run_import

    job = run_import(import_pk=import_pk)
    return None if job is None else str(job.status)


@shared_task(acks_late=True)
def bulk_job_run(job_pk: int) -> str | None:
    """Runs (or resumes) a bulk job over many locations; acknowledged only when done, so a
    killed worker's job is delivered again and continues with the items still pending."""
    from .bulk.services import bulk_job_run as run_job

    job = run_job(job_pk=job_pk)
    return None if job is None else str(job.status)


@shared_task
def contact_imports_stalled_sweep() -> int:
    from .bulk.csv_import import imports_stalled_sweep

    return imports_stalled_sweep()


@shared_task(autoretry_for=GHL_TRANSIENT, retry_backoff=5, retry_backoff_max=300, max_retries=8)
def routing_lead_assign(location_pk: int, contact_ghl_id: str) -> str:
    from tenants.models import Location

    from .routing.assign import lead_assign

    location = Location.objects.unscoped().select_related("agency").get(pk=location_pk)
    try:
        decision = lead_assign(location=location, contact_ghl_id=contact_ghl_id)
    except NotEntitled as refused:  # the plan changed since it was queued: nothing to retry
        return refused.reason
    return f"{decision.status} {decision.agent_ghl_id}".strip()


@shared_task
def routing_leads_drain() -> int:
    """Every lead waiting in the routing queue (see routing.queue)."""
    from .routing.queue import leads_drain

    return leads_drain()


@shared_task
def routing_leads_sweep() -> int:
    from .routing.queue import leads_sweep

    return leads_sweep()


@shared_task(autoretry_for=GHL_TRANSIENT, retry_backoff=30, retry_backoff_max=900, max_retries=6)
def pack_activate_run(location_pk: int, pack_key: str, user_pk: int | None = None) -> str:
    """Activates a pack (queued from the admin); GHL busy or down: the run is retried and its
    failure stays visible on the activation meanwhile."""
    from saas_platform.kernel.errors import ApplicationError
    from tenants.models import Location, User

    from .packs.services import pack_activate

    location = Location.objects.unscoped().select_related("agency").get(pk=location_pk)
    user = User.objects.filter(pk=user_pk).first() if user_pk else None
    try:
        activation = pack_activate(location=location, pack_key=pack_key, acting_user=user)
    except ApplicationError as error:
        return error.message
    return str(activation.status)


@shared_task
def reporting_refresh_dirty() -> int:
    """Every minute: rebuild the rollups' days that changed."""
    return reporting_dirty.report_dirty_refresh()


@shared_task
def reporting_location_rebuild(location_pk: int) -> int:
    return reporting_dirty.report_location_rebuild(location_id=location_pk)


@shared_task
def report_schedules_send_due() -> int:
    """Every quarter hour: queue the e-mail reports that are due, once this transaction commits."""
    due = reporting_email.report_schedules_due()
    for pk in due:
        transaction.on_commit(lambda pk=pk: report_email_send.delay(pk))  # type: ignore[misc]
    return len(due)


@shared_task
def report_email_send(schedule_pk: int) -> int:
    return reporting_email.report_email_send(schedule_pk=schedule_pk)


# --- outbound webhooks (integrations.webhooks_out) ----------------------------------------------


@shared_task
def webhook_events_dispatch() -> int:
    """Fan committed events out to endpoints, then send what is due."""
    from .webhooks_out.dispatch import events_dispatch

    _events, deliveries = events_dispatch()
    webhook_deliveries_send.delay()
    return deliveries


@shared_task
def webhook_deliveries_send() -> int:
    from .webhooks_out.delivery import deliveries_send_due

    return deliveries_send_due()


@shared_task
def webhook_events_prune() -> int:
    from .webhooks_out.dispatch import events_prune

    return events_prune()


# --- payments written back to GHL (integrations.payments) ----------------------------------------


@shared_task
def payment_writebacks_run() -> int:
    """Claim committed "payment.succeeded" events, then write them (and any left pending)."""
    from .payments.services import payment_events_claim, payment_writebacks_stalled

    claimed = payment_events_claim()
    for writeback_id in {*claimed, *payment_writebacks_stalled()}:
        payment_writeback_run.delay(writeback_id)
    return len(claimed)


@shared_task(bind=True, max_retries=8)
def payment_writeback_run(self: Any, writeback_id: int) -> str:
    from .payments.services import RetryLater, payment_writeback_run

    try:
        return payment_writeback_run(writeback_id=writeback_id)
    except RetryLater as exc:
        raise self.retry(exc=exc, countdown=min(60 * 2**self.request.retries, 3600)) from exc
