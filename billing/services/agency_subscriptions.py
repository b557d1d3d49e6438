"""Agencies subscribe to the platform's own plans on Stripe's hosted Checkout on the *platform*
account: no `Stripe-Account` header, no application fee (the money is the platform's). Our copy
of each subscription is written only from a fresh read of Stripe's object, so events may arrive in
any order; what its state means for the agency is decided in `agency_dunning`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import stripe
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from saas_platform.kernel.errors import ApplicationError, NotFound
from saas_platform.kernel.logging import get_logger
from tenants import selectors as tenant_selectors
from tenants.models import Agency, User
from tenants.services import audit_record

from .. import stripe_api
from ..models import AgencySubscription, Plan
from . import agency_dunning
from .checkout import HOLDING_STATUSES

log = get_logger(__name__)


def agency_billing_path() -> str:
    """The agency's subscription page: where Stripe's pages send the agency back."""
    return reverse("agency_billing:billing", urlconf=settings.ROOT_URLCONF)


def agency_checkout_start(*, agency: Agency, plan: Plan, acting_user: User) -> str:
    """The URL of a Stripe Checkout Session subscribing the agency to a platform plan."""
    if plan.agency_id is not None:
        raise ApplicationError("This plan is not on sale to agencies.")
    if not plan.active:
        raise ApplicationError("This plan is no longer on sale.")
    if not plan.stripe_price_id:
        raise ApplicationError("This plan is not ready for sale yet; please try again later.")
    holding = AgencySubscription.objects.for_agency(agency).filter(status__in=HOLDING_STATUSES)
    if holding.exists():
        raise ApplicationError(
            "Your agency already has a platform subscription: change it with “Manage billing”."
        )
    try:
        back = tenant_selectors.agency_portal_url(agency, agency_billing_path())
    except NotFound as exc:
        raise ApplicationError("Your agency has no primary domain to come back to.") from exc
    meta = {"agency_id": str(agency.pk), "plan_id": str(plan.pk)}
    subscription_data: dict[str, Any] = {"metadata": meta}
    if plan.trial_days:
        subscription_data["trial_period_days"] = plan.trial_days
    params: dict[str, Any] = {
        "mode": "subscription",
        "line_items": [{"price": plan.stripe_price_id, "quantity": 1}],
        "client_reference_id": f"agency-{agency.pk}",
        "metadata": meta,
        "subscription_data": subscription_data,
        "success_url": f"{back}?checkout=success&session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{back}?checkout=canceled",
    }
    customer = _known_customer(agency)
    if customer:
        # One customer per agency on the platform account: its invoices list together.
        params["customer"] = customer
    elif acting_user.email:
        params["customer_email"] = acting_user.email
    try:
        # No idempotency key, as for clients: an unfinished session charges nothing.
        session = stripe_api.client().v1.checkout.sessions.create(
            params=params,  # type: ignore[arg-type]
            options=stripe_api.options(),
        )
    except stripe.StripeError as exc:
        raise stripe_api.translate(exc) from exc
    audit_record(
        action="billing.agency_checkout_started",
        target=plan,
        acting_user=acting_user,
        agency=agency,
        changes={"checkout_session": (None, str(session.id))},
    )
    log.info("billing.agency_checkout.started", agency_id=agency.pk, plan_id=plan.pk)
    return str(session.url)


def _known_customer(agency: Agency) -> str:
    found = (
        AgencySubscription.objects.for_agency(agency)
        .exclude(stripe_customer_id="")
        .order_by("-created_at")
        .values_list("stripe_customer_id", flat=True)
        .first()
    )
    return str(found or "")


def agency_subscription_refresh(*, subscription_id: str) -> AgencySubscription | None:
    """Re-read a platform-account subscription and apply it (None: not an agency's)."""
    try:
        remote = stripe_api.client().v1.subscriptions.retrieve(
            subscription_id, options=stripe_api.options()
        )
    except stripe.StripeError as exc:
        raise stripe_api.translate(exc) from exc
    return agency_subscription_apply(remote=remote)


def _timestamp(raw: Any) -> datetime | None:
    return datetime.fromtimestamp(int(raw), tz=UTC) if raw else None


def _id_of(value: Any) -> str:
    return str(value if isinstance(value, str) else stripe_api.value(value, "id", default=""))


def agency_subscription_apply(*, remote: Any) -> AgencySubscription | None:
    """Store Stripe's current view of an agency's platform subscription, then let dunning set
    the agency's entitlements. The agency comes from the metadata our Checkout set."""
    raw = str(stripe_api.value(remote, "metadata", "agency_id", default=""))
    agency: Agency | None = Agency.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
    if agency is None:
        return None
    items = stripe_api.value(remote, "items", "data", default=[])
    first = items[0] if items else None
    price_id = stripe_api.value(first, "price", "id", default="")
    plan: Plan | None = (
        Plan.objects.platform().filter(stripe_price_id=price_id).first() if price_id else None
    )
    # Since API 2025-03-31 the period lives on the items; older versions kept it on the object.
    period_end = stripe_api.value(first, "current_period_end") or stripe_api.value(
        remote, "current_period_end"
    )
    fields = {
        "agency": agency,
        "plan": plan,
        "stripe_customer_id": _id_of(stripe_api.value(remote, "customer", default="")),
        "status": str(stripe_api.value(remote, "status")),
        "current_period_end": _timestamp(period_end),
        "trial_end": _timestamp(stripe_api.value(remote, "trial_end")),
        "cancel_at_period_end": bool(stripe_api.value(remote, "cancel_at_period_end")),
        "synced_at": timezone.now(),
    }
    with transaction.atomic():
        found = (
            AgencySubscription.objects.unscoped()
            .select_for_update()
            .get_or_create(
                stripe_subscription_id=str(stripe_api.value(remote, "id")), defaults=fields
            )
        )
        subscription: AgencySubscription = found[0]
        if subscription.agency_id != agency.pk:
            raise ApplicationError("A Stripe subscription cannot move to another agency.")
        for field, new in fields.items():
            setattr(subscription, field, new)
        agency_dunning.agency_subscription_grace_apply(subscription=subscription)
        subscription.save()
        agency_dunning.agency_entitlements_sync(agency=agency)
    log.info(
        "billing.agency_subscription.synced",
        subscription=subscription.stripe_subscription_id,
        status=subscription.status,
        agency_id=agency.pk,
    )
    return subscription


def agency_billing_portal_url(*, agency: Agency, return_url: str) -> str:
    """A fresh Stripe customer-portal session for the agency's latest platform subscription, on
    the platform account (sessions are short-lived: links point at our page, which calls this)."""
    customer = _known_customer(agency)
    if not customer:
        raise NotFound("Your agency has no platform subscription yet.")
    try:
        session = stripe_api.client().v1.billing_portal.sessions.create(
            params={"customer": customer, "return_url": return_url},
            options=stripe_api.options(),
        )
    except stripe.StripeError as exc:
        raise stripe_api.translate(exc) from exc
    return str(session.url)
