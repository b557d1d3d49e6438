"""A client starts paying for one of its agency's plans on Stripe's hosted Checkout, on the
agency's connected account (so the page shows the agency's brand and the money is the agency's),
with the platform's application fee on each invoice. What the client bought is applied when
`checkout.session.completed` arrives and the session is re-read (`handlers`)."""

from __future__ import annotations

from typing import Any

import stripe
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from saas_platform.kernel.errors import ApplicationError, NotFound
from saas_platform.kernel.logging import get_logger
from tenants import selectors as tenant_selectors
from tenants.models import Location, User
from tenants.services import audit_record

from .. import stripe_api
from ..models import Plan, StripeAccount, Subscription

log = get_logger(__name__)

# A client with one of these already has (or is about to lose) a plan: a second checkout
# would charge twice; plan changes go through the customer portal instead.
HOLDING_STATUSES = (
    Subscription.Status.TRIALING,
    Subscription.Status.ACTIVE,
    Subscription.Status.PAST_DUE,
    Subscription.Status.UNPAID,
)


def checkout_start(*, location: Location, plan: Plan, acting_user: User) -> str:
    """The URL of a Stripe Checkout Session subscribing the location to the plan."""
    if plan.agency_id is None or plan.agency_id != location.agency_id:
        raise ApplicationError(_("This plan is not on sale to this client."))
    if not plan.active:
        raise ApplicationError(_("This plan is no longer on sale."))
    if not plan.stripe_price_id:
        raise ApplicationError(_("This plan is not ready in Stripe yet; save it again to sync it."))
    account: StripeAccount | None = StripeAccount.objects.for_agency(location.agency).first()
    if account is None or not account.charges_enabled or not account.payouts_enabled:
        raise ApplicationError(_("The agency's Stripe account cannot take payments yet."))
    if Subscription.objects.for_location(location).filter(status__in=HOLDING_STATUSES).exists():
        raise ApplicationError(_("This client already has a subscription."))
    try:
        back = tenant_selectors.agency_portal_url(location.agency, billing_page_path(location))
    except NotFound as exc:
        raise ApplicationError(
            _("The agency has no primary domain to return the client to.")
        ) from exc
    meta = {
        "location_id": str(location.pk),
        "agency_id": str(location.agency_id),
        "plan_id": str(plan.pk),
    }
    subscription_data: dict[str, Any] = {
        "application_fee_percent": settings.BILLING_PLATFORM_FEE_PERCENT,
        "metadata": meta,
    }
    if plan.trial_days:
        subscription_data["trial_period_days"] = plan.trial_days
    params: dict[str, Any] = {
        "mode": "subscription",
        "line_items": [{"price": plan.stripe_price_id, "quantity": 1}],
        "client_reference_id": str(location.pk),
        "metadata": meta,
        "subscription_data": subscription_data,
        "success_url": f"{back}?checkout=success&session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{back}?checkout=canceled",
    }
    customer = _known_customer(location=location, account=account.stripe_account_id)
    if customer:
        # One customer per client on the account, so all its invoices are listed together.
        params["customer"] = customer
    elif acting_user.email:
        params["customer_email"] = acting_user.email
    try:
        # No idempotency key: a session charges nothing until the client completes it, and a
        # replayed one could already be complete or expired, which would strand a new click.
        session = stripe_api.client().v1.checkout.sessions.create(
            params=params,  # type: ignore[arg-type]
            options=stripe_api.options(account=account.stripe_account_id),
        )
    except stripe.StripeError as exc:
        raise stripe_api.translate(exc) from exc
    audit_record(
        action="billing.checkout_started",
        target=plan,
        acting_user=acting_user,
        agency=location.agency,
        location=location,
        changes={"checkout_session": (None, str(session.id))},
    )
    log.info("billing.checkout.started", location_id=location.pk, plan_id=plan.pk)
    return str(session.url)


def billing_page_path(location: Location) -> str:
    """The client's billing page in the workspace: where Stripe's pages send the client back."""
    return reverse(
        "workspace_billing:billing",
        kwargs={"location_id": location.pk},
        urlconf=settings.ROOT_URLCONF,
    )


def _known_customer(*, location: Location, account: str) -> str:
    """The Stripe customer the client already has on the agency's account ("" if none)."""
    found = (
        Subscription.objects.for_location(location)
        .filter(stripe_account_id=account)
        .exclude(stripe_customer_id="")
        .order_by("-created_at")
        .values_list("stripe_customer_id", flat=True)
        .first()
    )
    return str(found or "")


def checkout_session_subscription(*, account: str, session_id: str) -> str:
    """The subscription a completed subscription-mode session created, as Stripe says now
    ("" when the session is not complete or made none)."""
    try:
        session = stripe_api.client().v1.checkout.sessions.retrieve(
            session_id, options=stripe_api.options(account=account or None)
        )
    except stripe.StripeError as exc:
        raise stripe_api.translate(exc) from exc
    if stripe_api.value(session, "mode") != "subscription":
        return ""
    if stripe_api.value(session, "status") != "complete":
        return ""
    found = stripe_api.value(session, "subscription")
    if found is None:
        return ""
    return str(found if isinstance(found, str) else stripe_api.value(found, "id", default=""))
