"""What an agency's platform subscription means for the agency, and the dunning after a failed
payment: past due → a grace period with reminders to the agency's owners and admins → the
agency's platform entitlements paused (nothing deleted) → restored once Stripe says it is paid.

The agency's entitlements follow its *governing* subscription (the rule in `governing`, shared
with clients: one that holds a plan, else the newest), recomputed from what is stored, so a late
event about an old, canceled subscription cannot pause an agency that has since subscribed
again, and any order of events ends the same."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from saas_platform.kernel.logging import get_logger
from tenants import selectors as tenant_selectors
from tenants.models import Agency, AgencyEntitlements
from tenants.services import agency_entitlements_set

from ..models import AgencySubscription
from .dunning import REMINDER_EVERY
from .governing import (
    OVERDUE,
    entitlement_state,
    entitlements_lock,
    governing_subscription,
)

log = get_logger(__name__)

# Our page that opens Stripe's customer portal for the agency.
PAYMENT_PAGE = "/app/agency/billing/manage/"


def agency_subscription_grace_apply(
    *, subscription: AgencySubscription, now: datetime | None = None
) -> None:
    """Open or close the subscription's grace period from its status (the caller saves)."""
    now = now or timezone.now()
    if subscription.status in OVERDUE:
        if subscription.grace_until is None:
            subscription.grace_until = now + timedelta(days=settings.BILLING_GRACE_DAYS)
            transaction.on_commit(partial(_remind_later, subscription.pk))
    else:
        subscription.grace_until = None
        subscription.last_reminder_at = None


def agency_governing_subscription(agency: Agency) -> AgencySubscription | None:
    return governing_subscription(AgencySubscription.objects.for_agency(agency))


@transaction.atomic
def agency_entitlements_sync(*, agency: Agency, now: datetime | None = None) -> str | None:
    """Set the agency's platform entitlements from its governing subscription; the state set,
    or None when the agency has no subscription that ever started (then nothing is written)."""
    now = now or timezone.now()
    entitlements_lock(f"entitlements:agency:{agency.pk}")
    subscription = agency_governing_subscription(agency)
    if subscription is None:
        return None
    State = AgencyEntitlements.State
    state = State(entitlement_state(subscription, now))
    agency_entitlements_set(
        agency=agency,
        granted=subscription.plan.entitlements if subscription.plan is not None else {},
        state=state,
        grace_until=subscription.grace_until if state == State.GRACE else None,
    )
    return str(state)


def _remind_later(subscription_pk: int | None) -> None:
    if subscription_pk is None:
        return
    from ..tasks import agency_subscription_reminder_send

    agency_subscription_reminder_send.delay(subscription_pk)


def agency_subscription_reminder_send(*, subscription_pk: int, now: datetime | None = None) -> int:
    """E-mail the agency's owners and admins, from the platform, that a payment failed and when
    its platform plan pauses; returns how many were told."""
    now = now or timezone.now()
    subscription: AgencySubscription | None = (
        AgencySubscription.objects.unscoped()
        .select_related("agency", "plan")
        .filter(pk=subscription_pk, status__in=OVERDUE, grace_until__gt=now)
        .first()
    )
    if subscription is None:
        return 0
    agency = subscription.agency
    governing = agency_governing_subscription(agency)
    if governing is None or governing.pk != subscription.pk:
        # As for clients (dunning): its grace pauses nothing, so no reminder saying it would.
        log.info(
            "billing.agency_dunning.reminder_skipped",
            subscription_id=subscription.pk,
            agency_id=agency.pk,
            reason="not_governing",
        )
        return 0
    recipients = tenant_selectors.agency_admin_emails(agency)
    if not recipients:
        return 0
    assert subscription.grace_until is not None  # noqa: S101 — filtered above
    context = {
        "agency": agency,
        "plan": subscription.plan,
        "platform": settings.PLATFORM_NAME,
        "grace_until": subscription.grace_until,
        "days_left": max(1, (subscription.grace_until - now).days),
        "url": tenant_selectors.agency_portal_url(agency, PAYMENT_PAGE),
    }
    EmailMessage(
        subject=_("%(platform)s: your agency's payment did not go through")
        % {"platform": settings.PLATFORM_NAME},
        body=render_to_string("emails/agency_payment_reminder.txt", context),
        from_email=f"{settings.PLATFORM_NAME} <{settings.DEFAULT_FROM_EMAIL}>",
        to=recipients,
    ).send()
    AgencySubscription.objects.unscoped().filter(pk=subscription.pk).update(last_reminder_at=now)
    log.info(
        "billing.agency_dunning.reminded", subscription_id=subscription.pk, agency_id=agency.pk
    )
    return len(recipients)


def agency_subscriptions_dunning_run(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic pass: remind overdue agencies still in grace, pause those whose grace ran
    out. Idempotent; returns what it did."""
    now = now or timezone.now()
    overdue = AgencySubscription.objects.unscoped().filter(status__in=OVERDUE)
    expired = list(
        overdue.filter(grace_until__lte=now)
        .exclude(agency__platform_entitlements__state=AgencyEntitlements.State.PAUSED)
        .values_list("agency_id", flat=True)
        .distinct()
    )
    paused = 0
    for agency in Agency.objects.filter(pk__in=expired):
        with transaction.atomic():
            if agency_entitlements_sync(agency=agency, now=now) == AgencyEntitlements.State.PAUSED:
                paused += 1
    due = overdue.filter(grace_until__gt=now).exclude(last_reminder_at__gt=now - REMINDER_EVERY)
    reminded = sum(
        1
        for pk in due.values_list("pk", flat=True)
        if agency_subscription_reminder_send(subscription_pk=pk, now=now)
    )
    return {"paused": paused, "reminded": reminded}
