"""What a client's billing page shows: the agency's plans on sale to it, its subscription, and
its invoices as Stripe holds them on the agency's connected account."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import stripe

from tenants.models import Location

from . import stripe_api
from .currencies import major_units
from .models import AgencySubscription, Plan, StripeAccount, Subscription
from .services.checkout import HOLDING_STATUSES
from .services.governing import governing_subscription

INVOICES_PER_PAGE = 10
# Stripe invoice ids: what a paging cursor from the query string may look like.
INVOICE_ID = re.compile(r"^in_[A-Za-z0-9]{1,64}$")

OVERDUE_STATUSES = (Subscription.Status.PAST_DUE, Subscription.Status.UNPAID)


@dataclass(frozen=True)
class BillingOverview:
    account_ready: bool  # the agency can take payments on its connected account
    plans: list[Plan]
    # The governing one (else the latest, whatever its status); an agency's platform
    # subscription on its page.
    subscription: Subscription | AgencySubscription | None

    @property
    def holds_plan(self) -> bool:
        """A subscription that is (or may become again) paid for: no second checkout."""
        return self.subscription is not None and self.subscription.status in HOLDING_STATUSES

    @property
    def overdue(self) -> bool:
        return self.subscription is not None and self.subscription.status in OVERDUE_STATUSES

    @property
    def next_invoice_at(self) -> datetime | None:
        sub = self.subscription
        if sub is None or not self.holds_plan or sub.cancel_at_period_end:
            return None
        if sub.status == Subscription.Status.TRIALING and sub.trial_end:
            return sub.trial_end
        return sub.current_period_end


def location_billing_overview(*, location: Location) -> BillingOverview:
    account: StripeAccount | None = StripeAccount.objects.for_agency(location.agency).first()
    plans = list(
        Plan.objects.for_agency(location.agency).filter(active=True).exclude(stripe_price_id="")
    )
    subscriptions = Subscription.objects.for_location(location)
    # The one its entitlements follow, so the page agrees with what the client may use; else
    # the latest (a checkout that never completed).
    subscription: Subscription | None = governing_subscription(subscriptions) or (
        subscriptions.select_related("plan").order_by("-created_at").first()
    )
    return BillingOverview(
        account_ready=account is not None and account.ready,
        plans=plans,
        subscription=subscription,
    )


@dataclass(frozen=True)
class Invoice:
    id: str
    number: str
    created: datetime | None
    amount: str  # in major units with the currency, e.g. "99.00 USD"
    status: str
    hosted_url: str
    pdf_url: str


@dataclass(frozen=True)
class InvoicePage:
    invoices: list[Invoice] = field(default_factory=list)
    next_cursor: str = ""  # the last id shown, when Stripe has older ones


def location_invoices(*, location: Location, after: str = "") -> InvoicePage:
    """One page of the client's invoices, newest first, read from Stripe now (the links Stripe
    gives for them are short-lived, so they are never stored). Raises `StripeCallError` or
    `StripeRefused` when Stripe cannot answer."""
    subscription: Subscription | None = (
        Subscription.objects.for_location(location)
        .exclude(stripe_customer_id="")
        .order_by("-created_at")
        .first()
    )
    if subscription is None:
        return InvoicePage()
    return customer_invoices(
        customer=subscription.stripe_customer_id,
        account=subscription.stripe_account_id,
        after=after,
    )


def customer_invoices(*, customer: str, account: str | None, after: str = "") -> InvoicePage:
    """One page of a Stripe customer's invoices, newest first (`account` None: the platform's
    own account). Raises `StripeCallError` or `StripeRefused` when Stripe cannot answer."""
    params: dict[str, Any] = {"customer": customer, "limit": INVOICES_PER_PAGE}
    if INVOICE_ID.match(after):
        params["starting_after"] = after
    try:
        found = stripe_api.client().v1.invoices.list(
            params=params,  # type: ignore[arg-type]
            options=stripe_api.options(account=account),
        )
    except stripe.StripeError as exc:
        raise stripe_api.translate(exc) from exc
    invoices = [_invoice(raw) for raw in stripe_api.value(found, "data", default=[])]
    more = bool(stripe_api.value(found, "has_more", default=False))
    return InvoicePage(invoices=invoices, next_cursor=invoices[-1].id if more and invoices else "")


def _invoice(raw: Any) -> Invoice:
    currency = str(stripe_api.value(raw, "currency", default="usd"))
    amount = int(stripe_api.value(raw, "total", default=0) or 0)
    created = stripe_api.value(raw, "created")
    return Invoice(
        id=str(stripe_api.value(raw, "id")),
        number=str(stripe_api.value(raw, "number", default="")),
        created=datetime.fromtimestamp(int(created), tz=UTC) if created else None,
        amount=f"{major_units(amount, currency)} {currency.upper()}",
        status=str(stripe_api.value(raw, "status", default="")),
        hosted_url=str(stripe_api.value(raw, "hosted_invoice_url", default="")),
        pdf_url=str(stripe_api.value(raw, "invoice_pdf", default="")),
    )
