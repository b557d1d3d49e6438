"""What the agency's subscription page shows: the platform's plans on sale, the agency's
platform subscription and entitlements, and its invoices on the platform account."""

from __future__ import annotations

from tenants.models import Agency, AgencyEntitlements

from .models import AgencySubscription, Plan
from .selectors import BillingOverview, InvoicePage, customer_invoices
from .services.governing import governing_subscription


def agency_billing_overview(*, agency: Agency) -> BillingOverview:
    """The platform account always takes payments, so `account_ready` is always true."""
    plans = list(
        Plan.objects.platform().filter(active=True).exclude(stripe_price_id="").order_by("amount")
    )
    subscriptions = AgencySubscription.objects.for_agency(agency)
    subscription: AgencySubscription | None = governing_subscription(subscriptions) or (
        subscriptions.select_related("plan").order_by("-created_at").first()
    )
    return BillingOverview(account_ready=True, plans=plans, subscription=subscription)


def agency_entitlements(*, agency: Agency) -> AgencyEntitlements | None:
    found: AgencyEntitlements | None = AgencyEntitlements.objects.for_agency(agency).first()
    return found


def agency_invoices(*, agency: Agency, after: str = "") -> InvoicePage:
    """One page of the agency's platform invoices, newest first, read from Stripe now."""
    customer = (
        AgencySubscription.objects.for_agency(agency)
        .exclude(stripe_customer_id="")
        .order_by("-created_at")
        .values_list("stripe_customer_id", flat=True)
        .first()
    )
    if not customer:
        return InvoicePage()
    return customer_invoices(customer=str(customer), account=None, after=after)
