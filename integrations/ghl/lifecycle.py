"""The install state machine driven by GHL's INSTALL / UNINSTALL / PLAN_CHANGE / LocationCreate
webhooks, keyed on (company, location) and indifferent to arrival order:

* every transition remembers the event time; an event older than the newest one applied to that
  installation changes nothing (a late INSTALL cannot undo a newer UNINSTALL, nor the reverse);
* an INSTALL that arrives before the token exchange leaves a `pending` installation (parked, not
  lost); the exchange or a later agency-token mint completes it;
* every handler is idempotent: replaying an event is a no-op.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from integrations.inbox.services import RetryLater
from saas_platform.kernel.errors import ApplicationError
from saas_platform.kernel.logging import get_logger
from tenants import services as tenant_services

from . import vault
from .errors import GhlError
from .install import company_installation, location_install_from_company
from .models import GhlInstallation, GhlToken
from .signals import installation_uninstalled

log = get_logger(__name__)

LIFECYCLE_EVENTS = frozenset({"INSTALL", "UNINSTALL", "PLAN_CHANGE", "LocationCreate"})


class ParkedEvent(RetryLater):
    """The event cannot be applied yet (we do not know its company): retry it later."""


def _stale(installation: GhlInstallation, occurred_at: datetime) -> bool:
    return installation.last_event_at is not None and occurred_at < installation.last_event_at


def lifecycle_event_apply(*, payload: dict[str, Any], occurred_at: datetime | None) -> str:
    """Apply one lifecycle event; returns what happened (for the inbox row)."""
    when = occurred_at or timezone.now()
    kind = payload["type"]
    if kind == "INSTALL":
        return _on_install(payload, when)
    if kind == "UNINSTALL":
        return _on_uninstall(payload, when)
    if kind == "PLAN_CHANGE":
        return _on_plan_change(payload, when)
    if kind == "LocationCreate":
        return _on_location_create(payload, when)
    raise ValueError(f"not a lifecycle event: {kind}")


def _company_of(payload: dict[str, Any]) -> str:
    company_id = str(payload.get("companyId") or "")
    if company_id:
        return company_id
    location_id = str(payload.get("locationId") or "")
    known = GhlInstallation.objects.unscoped().filter(ghl_location_id=location_id).first()
    if known is None:
        # "Future location" installs may come without a company: wait for what introduces it.
        raise ParkedEvent(f"INSTALL for location {location_id} of an unknown company")
    return str(known.ghl_company_id)


@transaction.atomic
def _on_install(payload: dict[str, Any], when: datetime) -> str:
    company_id = _company_of(payload)
    location_id = str(payload.get("locationId") or "")
    agency = tenant_services.agency_onboard_from_ghl(
        company_id=company_id,
        name=str(payload.get("companyName") or ""),
        logo_url=str((payload.get("whitelabelDetails") or {}).get("logoUrl") or ""),
    )
    installation, created = (
        GhlInstallation.objects.unscoped()
        .select_for_update()
        .get_or_create(
            ghl_company_id=company_id,
            ghl_location_id=location_id,
            defaults={
                "agency": agency,
                "user_type": "Location" if location_id else "Company",
                "last_event_at": when,
            },
        )
    )
    if not created and _stale(installation, when):
        return "ignored: older than the installation's last event"
    installation.last_event_at = when
    installation.plan_id = str(payload.get("planId") or installation.plan_id)
    installation.installed_by = str(payload.get("userId") or installation.installed_by)
    has_token = GhlToken.objects.filter(installation=installation).exists()
    if installation.status == GhlInstallation.Status.UNINSTALLED or not has_token:
        installation.status = GhlInstallation.Status.PENDING
        installation.uninstalled_at = None
    installation.save()
    if location_id and not has_token and company_installation(company_id) is not None:
        # A bulk install: mint this location's token from the agency token, after commit.
        from integrations.tasks import ghl_location_install

        transaction.on_commit(lambda: ghl_location_install.delay(company_id, location_id))
        return "pending: minting the location token"
    return "installed" if has_token else "pending: waiting for the token exchange"


@transaction.atomic
def _on_uninstall(payload: dict[str, Any], when: datetime) -> str:
    company_id, location_id = (
        str(payload.get("companyId") or ""),
        str(payload.get("locationId") or ""),
    )
    query = GhlInstallation.objects.unscoped().select_for_update()
    if location_id:
        targets = list(query.filter(ghl_location_id=location_id))
    elif company_id:
        # The app left the agency: its own token and every location's go.
        targets = list(query.filter(ghl_company_id=company_id))
    else:
        return "ignored: no company or location"
    done = 0
    for installation in targets:
        if _stale(installation, when):
            continue
        if installation_uninstall(installation=installation, reason="UNINSTALL webhook", when=when):
            done += 1
    return f"uninstalled {done} installation(s)"


def installation_uninstall(
    *, installation: GhlInstallation, reason: str, when: datetime | None = None
) -> bool:
    """Destroy the tokens and stop the installation's work. False if it was already gone."""
    when = when or timezone.now()
    if installation.status == GhlInstallation.Status.UNINSTALLED:
        installation.last_event_at = max(installation.last_event_at or when, when)
        installation.save(update_fields=["last_event_at", "updated_at"])
        return False
    GhlToken.objects.filter(installation=installation).delete()
    installation.status = GhlInstallation.Status.UNINSTALLED
    installation.uninstalled_at = timezone.now()
    installation.last_event_at = when
    installation.access_expires_at = None
    installation.save()
    vault.revoke(installation.pk)
    tenant_services.audit_record(
        action="ghl.uninstalled",
        target=installation,
        acting_user=None,
        agency=installation.agency,
        location=installation.location,
        changes={"status": ("installed", "uninstalled"), "reason": (None, reason)},
    )
    transaction.on_commit(
        lambda: installation_uninstalled.send(GhlInstallation, installation=installation)
    )
    log.info("ghl.install.uninstalled", installation_id=installation.pk, reason=reason)
    return True


@transaction.atomic
def _on_plan_change(payload: dict[str, Any], when: datetime) -> str:
    location_id = str(payload.get("locationId") or "")
    company_id = str(payload.get("companyId") or "")
    query = GhlInstallation.objects.unscoped().select_for_update()
    installation = (
        query.filter(ghl_location_id=location_id).first()
        if location_id
        else query.filter(ghl_company_id=company_id, ghl_location_id="").first()
    )
    if installation is None:
        raise ParkedEvent("PLAN_CHANGE for an installation we have not seen yet")
    if _stale(installation, when):
        return "ignored: older than the installation's last event"
    installation.plan_id = str(payload.get("newPlanId") or installation.plan_id)
    installation.last_event_at = when
    installation.save(update_fields=["plan_id", "last_event_at", "updated_at"])
    return f"plan is now {installation.plan_id}"


def _on_location_create(payload: dict[str, Any], when: datetime) -> str:
    company = company_installation(str(payload.get("companyId") or ""))
    if company is None:
        return "ignored: the agency has not installed the app"
    if not (company.install_to_future_locations or company.approve_all_locations):
        return "ignored: the agency did not install to future locations"
    location_id = str(payload.get("id") or payload.get("locationId") or "")
    try:
        location_install_from_company(
            company=company, location_id=location_id, name=str(payload.get("name") or "")
        )
    except GhlError as exc:
        raise ParkedEvent(f"could not mint the token of {location_id}: {exc}") from exc
    except ApplicationError as exc:
        # A rule says no (the agency's platform plan is full or paused, the location belongs
        # to another agency): retrying would not change that, so the event ends here.
        log.info("ghl.lifecycle.location_refused", location_id=location_id, reason=exc.message)
        return f"refused the new location {location_id}: {exc.message}"
    return f"installed on the new location {location_id}"
