"""What a client's subscriptions mean for its location, and the dunning that follows a failed
payment: past due → a grace period with branded reminders → features paused (nothing deleted)
→ restored as soon as Stripe says the subscription is paid up.

Each subscription keeps its own grace bookkeeping (`subscription_grace_apply`); the location's
entitlements follow its *governing* subscription (`governing`), recomputed from what is stored
by `location_entitlements_sync`, so applying the same Stripe state twice, states in any order,
or a late event of an old canceled subscription all end the same."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from saas_platform.kernel.logging import get_logger
from tenants import selectors as tenant_selectors
from tenants.models import Branding, Location, LocationEntitlements
from tenants.services import location_entitlements_set

from ..models import Subscription
from .governing import (
    GOOD,
    OVERDUE,
    entitlement_state,
    entitlements_lock,
    governing_subscription,
)

log = get_logger(__name__)

# Reminders during the grace period: at its start, then this often.
REMINDER_EVERY = timedelta(days=2)
# Our page that opens Stripe's customer portal (its sessions expire too soon to be mailed).
PAYMENT_PAGE = "/billing/portal/{location_id}/"


def subscription_grace_apply(*, subscription: Subscription, now: datetime | None = None) -> None:
    """Open or close the subscription's grace period from its status (the caller saves). Kept
    on every subscription, governing or not, so one that comes to govern has the right clock."""
    now = now or timezone.now()
    if subscription.status in GOOD:
        subscription.grace_until = None
        subscription.last_reminder_at = None
    elif subscription.status in OVERDUE:
        if subscription.grace_until is None:
            subscription.grace_until = now + timedelta(days=settings.BILLING_GRACE_DAYS)
            transaction.on_commit(partial(_remind_later, subscription.pk))
    else:
        subscription.grace_until = None


def location_governing_subscription(location: Location) -> Subscription | None:
    return governing_subscription(Subscription.objects.for_location(location))


@transaction.atomic
def location_entitlements_sync(*, location: Location, now: datetime | None = None) -> str | None:
    """Set the location's entitlements from its governing subscription; the state set, or None
    when it has no subscription that ever started (then nothing is written)."""
    now = now or timezone.now()
    entitlements_lock(f"entitlements:location:{location.pk}")
    subscription = location_governing_subscription(location)
    if subscription is None:
        return None
    state = LocationEntitlements.State(entitlement_state(subscription, now))
    location_entitlements_set(
        location=location,
        granted=subscription.plan.entitlements if subscription.plan is not None else {},
        state=state,
        grace_until=subscription.grace_until,
    )
    return str(state)


def _remind_later(subscription_pk: int | None) -> None:
    if subscription_pk is None:
        return
    from ..tasks import subscription_reminder_send

    subscription_reminder_send.delay(subscription_pk)


def subscription_reminder_send(*, subscription_pk: int, now: datetime | None = None) -> int:
    """E-mail the client's admins (under the agency's brand, with a link on the agency's own
    domain) that a payment failed and when features pause; returns how many were told."""
    now = now or timezone.now()
    subscription: Subscription | None = (
        Subscription.objects.unscoped()
        .select_related("location__agency")
        .filter(pk=subscription_pk, status__in=OVERDUE, grace_until__gt=now)
        .first()
    )
    if subscription is None:
        return 0
    location = subscription.location
    if not _governs(subscription):
        # Its grace pauses nothing (the location follows another subscription), so a reminder
        # saying features pause would be wrong; Stripe's own dunning still asks for the money.
        log.info(
            "billing.dunning.reminder_skipped",
            subscription_id=subscription.pk,
            location_id=location.pk,
            reason="not_governing",
        )
        return 0
    agency = location.agency
    recipients = tenant_selectors.location_admin_emails(location) or (
        tenant_selectors.agency_admin_emails(agency)
    )
    if not recipients:
        return 0
    branding = Branding.objects.for_agency(agency).get()
    assert subscription.grace_until is not None  # noqa: S101 — filtered above
    context = {
        "brand": branding,
        "location": location,
        "grace_until": subscription.grace_until,
        "days_left": max(1, (subscription.grace_until - now).days),
        "url": tenant_selectors.agency_portal_url(
            agency, PAYMENT_PAGE.format(location_id=location.pk)
        ),
    }
    sender = branding.sender_name or branding.display_name
    EmailMultiAlternatives(
        subject=_("%(brand)s: your payment did not go through") % {"brand": branding.display_name},
        body=render_to_string("emails/billing_payment_reminder.txt", context),
        from_email=f"{sender} <{settings.DEFAULT_FROM_EMAIL}>",
        to=recipients,
        reply_to=[branding.support_email] if branding.support_email else None,
    ).send()
    Subscription.objects.unscoped().filter(pk=subscription.pk).update(last_reminder_at=now)
    log.info("billing.dunning.reminded", subscription_id=subscription.pk, location_id=location.pk)
    return len(recipients)


def _governs(subscription: Subscription) -> bool:
    governing = location_governing_subscription(subscription.location)
    return governing is not None and governing.pk == subscription.pk


def subscriptions_dunning_run(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic pass: remind overdue clients still in grace, pause those whose grace ran
    out. Idempotent; returns what it did."""
    now = now or timezone.now()
    overdue = Subscription.objects.unscoped().filter(status__in=OVERDUE)
    expired = list(
        overdue.filter(grace_until__lte=now)
        .exclude(location__entitlements__state=LocationEntitlements.State.PAUSED)
        .values_list("location_id", flat=True)
        .distinct()
    )
    paused = 0
    for location in Location.objects.unscoped().filter(pk__in=expired).select_related("agency"):
        state = location_entitlements_sync(location=location, now=now)
        if state == LocationEntitlements.State.PAUSED:
            paused += 1
    due = overdue.filter(grace_until__gt=now).exclude(last_reminder_at__gt=now - REMINDER_EVERY)
    reminded = sum(
        1
        for pk in due.values_list("pk", flat=True)
        if subscription_reminder_send(subscription_pk=pk, now=now)
    )
    return {"paused": paused, "reminded": reminded}
