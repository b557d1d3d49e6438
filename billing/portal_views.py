"""The client's billing page in the workspace: its agency's plans, its subscription, the way to
Stripe's hosted Checkout and customer portal, and its invoices."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from saas_platform.kernel.errors import ApplicationError
from saas_platform.kernel.logging import get_logger
from tenants import selectors as tenant_selectors
from tenants.models import Location, User
from tenants.portal import location_page

from .models import Plan
from .selectors import InvoicePage, location_billing_overview, location_invoices
from .services.checkout import checkout_start
from .stripe_api import StripeCallError, StripeRefused

log = get_logger(__name__)

CHECKOUT_RETURNS = {
    "success": _("Thank you — your payment went through. Your plan appears here within a minute."),
    "canceled": _("Checkout was canceled; nothing was charged."),
}


def _may_pay(request: HttpRequest, location: Location) -> bool:
    user = request.user
    return isinstance(user, User) and tenant_selectors.may_manage_location_billing(
        user=user, location=location
    )


@require_GET
@location_page(section="billing", access="admin")
def billing_page(request: HttpRequest, location: Location) -> HttpResponse:
    overview = location_billing_overview(location=location)
    invoices, invoices_unavailable = InvoicePage(), False
    if overview.subscription is not None:
        try:
            invoices = location_invoices(location=location, after=request.GET.get("after", ""))
        except (StripeCallError, StripeRefused) as exc:
            log.warning("billing.invoices.unavailable", location_id=location.pk, error=str(exc))
            invoices_unavailable = True
    return render(
        request,
        "portal/billing/page.html",
        {
            "location": location,
            "overview": overview,
            "invoices": invoices,
            "invoices_unavailable": invoices_unavailable,
            "paging": "after" in request.GET,
            "may_pay": _may_pay(request, location),
            "checkout_note": CHECKOUT_RETURNS.get(request.GET.get("checkout", "")),
        },
    )


@require_POST
@location_page(section="billing", access="admin")
def plan_checkout(request: HttpRequest, location: Location, plan_id: int) -> HttpResponse:
    """Start paying for a plan: 303 to Stripe's hosted Checkout, or back with the reason."""
    plan: Plan | None = Plan.objects.for_agency(location.agency).filter(pk=plan_id).first()
    if plan is None:
        raise Http404
    if not _may_pay(request, location):
        raise PermissionDenied(_("Only the business's administrators can choose its plan."))
    try:
        url = checkout_start(location=location, plan=plan, acting_user=request.user)  # type: ignore[arg-type]
    except (StripeCallError, StripeRefused) as exc:
        # Stripe's own wording names the payment provider: the client gets ours.
        log.warning("billing.checkout.unavailable", location_id=location.pk, error=exc.message)
        messages.error(request, _("Payment cannot be started right now. Please try again shortly."))
        return redirect("workspace_billing:billing", location_id=location.pk)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("workspace_billing:billing", location_id=location.pk)
    response = HttpResponse(status=303)  # the POST becomes a GET of the hosted page
    response["Location"] = url
    if getattr(request, "htmx", False):
        # htmx would follow a 303 itself and swap the hosted page in: make the browser go.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
    return response
