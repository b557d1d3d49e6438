"""The agency's own subscription to the platform (``/app/agency/billing/``, owners and admins):
the platform's plans, Stripe Checkout and customer portal on the platform account, invoices."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_POST

from saas_platform.kernel.errors import ApplicationError, NotFound
from saas_platform.kernel.logging import get_logger
from tenants import selectors as tenant_selectors
from tenants.models import Agency, User
from tenants.portal_agency import agency_page
from tenants.services import AGENCY_ENTITLEMENT_KEYS

from .agency_selectors import agency_billing_overview, agency_entitlements, agency_invoices
from .models import Plan
from .portal_views import CHECKOUT_RETURNS
from .selectors import InvoicePage
from .services.agency_subscriptions import (
    agency_billing_path,
    agency_billing_portal_url,
    agency_checkout_start,
)
from .stripe_api import StripeCallError, StripeRefused

log = get_logger(__name__)

UNAVAILABLE = _lazy("Payment cannot be started right now. Please try again shortly.")
ENTITLEMENT_LABELS = {
    "max_locations": "Locations",
    "custom_domains": "Custom domains",
    "api_access": "API access",
    "agency_seats": "Agency team seats",
}


def _granted(granted: dict[str, object]) -> list[tuple[str, object]]:
    """(label, value) in the order of AGENCY_ENTITLEMENT_KEYS, for what `granted` sets."""
    return [
        (ENTITLEMENT_LABELS.get(k, k), granted[k]) for k in AGENCY_ENTITLEMENT_KEYS if k in granted
    ]


@require_GET
@agency_page(section="subscription", access="admin")
def billing_page(request: HttpRequest, agency: Agency) -> HttpResponse:
    overview = agency_billing_overview(agency=agency)
    invoices, invoices_unavailable = InvoicePage(), False
    if overview.subscription is not None:
        try:
            invoices = agency_invoices(agency=agency, after=request.GET.get("after", ""))
        except (StripeCallError, StripeRefused) as exc:
            log.warning("billing.agency_invoices.unavailable", agency_id=agency.pk, error=str(exc))
            invoices_unavailable = True
    entitlements = agency_entitlements(agency=agency)
    context = {
        "overview": overview,
        "entitlements": entitlements,
        "granted": _granted(entitlements.granted) if entitlements else [],
        "plan_rows": [(plan, _granted(plan.entitlements)) for plan in overview.plans],
        "invoices": invoices,
        "invoices_unavailable": invoices_unavailable,
        "paging": "after" in request.GET,
        "checkout_note": CHECKOUT_RETURNS.get(request.GET.get("checkout", "")),
    }
    return render(request, "portal/agency/billing.html", context)


@require_POST
@agency_page(section="subscription", access="admin")
def plan_subscribe(request: HttpRequest, agency: Agency, plan_id: int) -> HttpResponse:
    """Subscribe to a platform plan: 303 to Stripe's hosted Checkout, or back with the reason."""
    plan: Plan | None = Plan.objects.platform().filter(pk=plan_id).first()
    if plan is None:
        raise Http404
    user = request.user
    assert isinstance(user, User)  # noqa: S101 — agency_page let only members in
    try:
        url = agency_checkout_start(agency=agency, plan=plan, acting_user=user)
    except (StripeCallError, StripeRefused) as exc:
        log.warning("billing.agency_checkout.unavailable", agency_id=agency.pk, error=exc.message)
        messages.error(request, UNAVAILABLE)
        return redirect("agency_billing:billing")
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("agency_billing:billing")
    if getattr(request, "htmx", False):
        # htmx would follow a 303 itself and swap the hosted page in: make the browser go.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    response = HttpResponse(status=303)  # the POST becomes a GET of the hosted page
    response["Location"] = url
    return response


@require_GET
@agency_page(section="subscription", access="admin")
def billing_manage(request: HttpRequest, agency: Agency) -> HttpResponse:
    """Stripe's customer portal for the agency's platform subscription (the reminders' link)."""
    back = tenant_selectors.agency_portal_url(agency, agency_billing_path())
    try:
        url = agency_billing_portal_url(agency=agency, return_url=back)
    except NotFound as exc:
        messages.error(request, exc.message)
        return redirect("agency_billing:billing")
    except (ApplicationError, StripeCallError) as exc:
        log.warning("billing.agency_portal.unavailable", agency_id=agency.pk, error=exc.message)
        messages.error(request, _("Billing details cannot be opened right now. Please try again."))
        return redirect("agency_billing:billing")
    return HttpResponseRedirect(url)
