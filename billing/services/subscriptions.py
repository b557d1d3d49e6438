"""Client subscriptions on the agency's connected account, with the platform's application fee,
and our copy of them — written only from a fresh read of Stripe's object, so the order in which
events arrive never matters. What the subscription's state means for the location (entitlements,
grace, pause) is decided in `dunning`, from the location's governing subscription."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from saas_platform.kernel.errors import ApplicationError, NotFound
from saas_platform.kernel.logging import get_logger
from tenants.events import event_publish
from tenants.models import Location, User
from tenants.services import audit_record, location_revenue_record

from .. import stripe_api
from ..currencies import major_units
from ..models import Plan, StripeAccount, Subscription
from . import dunning

log = get_logger(__name__)


def subscription_create(
    *, location: Location, plan: Plan, email: str, acting_user: User | None
) -> Subscription:
    """Subscribe a client to one of its agency's plans: a customer and a subscription on the
    agency's connected account, the platform's fee on each invoice."""
    if plan.agency_id != location.agency_id or not plan.active or not plan.stripe_price_id:
        raise ApplicationError(_("This plan is not on sale to this client."))
    account: StripeAccount | None = StripeAccount.objects.for_agency(location.agency).first()
    if account is None or not account.payouts_enabled or not account.charges_enabled:
        raise ApplicationError(_("The agency's Stripe account cannot take payments yet."))
    api = stripe_api.client().v1
    on_account = account.stripe_account_id
    try:
        customer = api.customers.create(
            params={"email": email, "name": location.name, "metadata": _meta(location)},
            options=stripe_api.options(
                account=on_account, idempotency_key=f"location-{location.pk}-customer"
            ),
        )
        params: dict[str, Any] = {
            "customer": customer.id,
            "items": [{"price": plan.stripe_price_id}],
            "application_fee_percent": settings.BILLING_PLATFORM_FEE_PERCENT,
            "payment_behavior": "default_incomplete",
            "metadata": {**_meta(location), "plan_id": str(plan.pk)},
        }
        if plan.trial_days:
            params["trial_period_days"] = plan.trial_days
        remote = api.subscriptions.create(
            params=params,  # type: ignore[arg-type]
            options=stripe_api.options(
                account=on_account,
                idempotency_key=f"location-{location.pk}-plan-{plan.pk}-r{plan.revision}-sub",
            ),
        )
    except stripe.StripeError as exc:
        raise stripe_api.translate(exc) from exc
    subscription = subscription_apply(account=on_account, remote=remote)
    if subscription is None:  # Stripe lost our metadata: nothing we can attribute
        raise ApplicationError(_("Stripe answered with a subscription we cannot attribute."))
    audit_record(
        action="billing.subscription_created",
        target=subscription,
        acting_user=acting_user,
        agency=location.agency,
        location=location,
        changes={"plan": (None, plan.pk), "status": (None, subscription.status)},
    )
    return subscription


def _meta(location: Location) -> dict[str, str]:
    return {"location_id": str(location.pk), "agency_id": str(location.agency_id)}


def _timestamp(raw: Any) -> datetime | None:
    return datetime.fromtimestamp(int(raw), tz=UTC) if raw else None


def subscription_refresh(*, account: str, subscription_id: str) -> Subscription | None:
    """Re-read a subscription from Stripe and apply it (None: it is not one of our clients')."""
    try:
        remote = stripe_api.client().v1.subscriptions.retrieve(
            subscription_id, options=stripe_api.options(account=account or None)
        )
    except stripe.StripeError as exc:
        raise stripe_api.translate(exc) from exc
    return subscription_apply(account=account, remote=remote)


def subscription_apply(*, account: str, remote: Any) -> Subscription | None:
    """Store Stripe's current view of a subscription and let dunning act on its status. The
    location comes from the metadata *and* must belong to the agency owning `account`."""
    location = _location_for(account=account, remote=remote)
    if location is None:
        return None
    items = stripe_api.value(remote, "items", "data", default=[])
    first = items[0] if items else None
    price_id = stripe_api.value(first, "price", "id", default="")
    plan: Plan | None = (
        Plan.objects.for_agency(location.agency).filter(stripe_price_id=price_id).first()
        if price_id
        else None
    )
    # Since API 2025-03-31 the period lives on the items; older versions kept it on the object.
    period_end = stripe_api.value(first, "current_period_end") or stripe_api.value(
        remote, "current_period_end"
    )
    fields = {
        "location": location,
        "plan": plan,
        "stripe_account_id": account,
        "stripe_customer_id": _id_of(stripe_api.value(remote, "customer", default="")),
        "status": str(stripe_api.value(remote, "status")),
        "current_period_end": _timestamp(period_end),
        "trial_end": _timestamp(stripe_api.value(remote, "trial_end")),
        "cancel_at_period_end": bool(stripe_api.value(remote, "cancel_at_period_end")),
        "application_fee_percent": _fee(stripe_api.value(remote, "application_fee_percent")),
        "synced_at": timezone.now(),
    }
    with transaction.atomic():
        found = (
            Subscription.objects.unscoped()
            .select_for_update()
            .get_or_create(
                stripe_subscription_id=str(stripe_api.value(remote, "id")), defaults=fields
            )
        )
        subscription: Subscription = found[0]
        created = found[1]
        if subscription.location_id != location.pk:
            raise ApplicationError(_("A Stripe subscription cannot move to another location."))
        seen = _customer_view(subscription)
        for field, new in fields.items():
            setattr(subscription, field, new)
        dunning.subscription_grace_apply(subscription=subscription)
        subscription.save()
        dunning.location_entitlements_sync(location=location)
        if created or _customer_view(subscription) != seen:
            # Outbound webhooks (integrations), through tenants: billing may not import them.
            event_publish(
                location=location,
                event_type="subscription.updated",
                data={"subscription": _customer_view(subscription)},
            )
    log.info(
        "billing.subscription.synced",
        subscription=subscription.stripe_subscription_id,
        status=subscription.status,
        location_id=location.pk,
    )
    return subscription


def _customer_view(subscription: Subscription) -> dict[str, Any]:
    """What a customer's webhook sees of a subscription (no Stripe ids, no fees)."""
    end = subscription.current_period_end
    return {
        "plan": subscription.plan.name if subscription.plan else None,
        "status": subscription.status,
        "current_period_end": end.isoformat().replace("+00:00", "Z") if end else None,
    }


def _fee(raw: Any) -> Decimal | None:
    return None if raw is None else Decimal(str(raw))


def _id_of(value: Any) -> str:
    return str(value if isinstance(value, str) else stripe_api.value(value, "id", default=""))


def _location_for(*, account: str, remote: Any) -> Location | None:
    raw = stripe_api.value(remote, "metadata", "location_id", default="")
    if not str(raw).isdigit():
        return None
    owner: StripeAccount | None = (
        StripeAccount.objects.unscoped()
        .select_related("agency")
        .filter(stripe_account_id=account)
        .first()
    )
    if owner is None:
        raise NotFound(_("No agency has the Stripe account %(account)s.") % {"account": account})
    location: Location | None = (
        Location.objects.for_agency(owner.agency).filter(pk=int(raw)).first()
    )
    return location


def invoice_revenue_record(*, invoice: Any, location: Location) -> bool:
    """A paid invoice (as just re-read from Stripe) as the location's revenue, once per invoice;
    reports read it through tenants. Paid on the day Stripe marked it paid."""
    currency = str(stripe_api.value(invoice, "currency", default="usd"))
    paid_at = stripe_api.value(invoice, "status_transitions", "paid_at") or stripe_api.value(
        invoice, "created"
    )
    stamp = _timestamp(paid_at) or timezone.now()
    return location_revenue_record(
        location=location,
        reference=str(stripe_api.value(invoice, "id")),
        paid_on=stamp.date(),
        amount=major_units(int(stripe_api.value(invoice, "amount_paid", default=0)), currency),
        currency=currency,
    )


def subscription_portal_url(*, location: Location, return_url: str) -> str:
    """A fresh Stripe customer-portal session for the location's latest subscription, on the
    agency's connected account (so the page shows the agency's brand). Sessions are short-lived:
    links we send point at our own page, which calls this when it is opened."""
    subscription: Subscription | None = (
        Subscription.objects.for_location(location)
        .exclude(stripe_customer_id="")
        .order_by("-created_at")
        .first()
    )
    if subscription is None:
        raise NotFound(_("This client has no subscription."))
    try:
        session = stripe_api.client().v1.billing_portal.sessions.create(
            params={"customer": subscription.stripe_customer_id, "return_url": return_url},
            options=stripe_api.options(account=subscription.stripe_account_id),
        )
    except stripe.StripeError as exc:
        raise stripe_api.translate(exc) from exc
    return str(session.url)
