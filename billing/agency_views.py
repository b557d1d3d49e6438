"""The agency's plans on the agency pages (``/app/agency/billing/plans/``): list, create, edit,
archive and restore, saved through ``plan_save`` (validated, audited, synced to the agency's
connected Stripe account), and the Stripe Connect onboarding status with its button."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from saas_platform.kernel.errors import ApplicationError
from tenants import selectors as tenant_selectors
from tenants.models import Agency
from tenants.portal_agency import agency_page, agency_workspace
from tenants.request import actor

from .admin import PlanForm
from .models import Plan, StripeAccount
from .services.connect import connect_onboarding_start
from .services.plans import plan_save
from .stripe_api import StripeCallError

FIELDS = ("name", "amount", "currency", "interval", "trial_days", "entitlements")


class AgencyPlanForm(PlanForm):
    """The agency admin's plan form (same fields and checks); archiving has its own button."""

    class Meta(PlanForm.Meta):
        fields = list(FIELDS)
        labels = {"amount": _("Price (in cents)"), "trial_days": _("Free trial (days)")}

    def __init__(self, *args: Any, owner: Agency, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owner = owner


def _plan(agency: Agency, plan_id: int) -> Plan:
    """The agency's own plan; another agency's (or the platform's) is the same 404 as none."""
    found: Plan | None = Plan.objects.for_agency(agency).filter(pk=plan_id).first()
    if found is None:
        raise Http404
    return found


def _save(request: HttpRequest, agency: Agency, form: AgencyPlanForm, plan: Plan | None) -> bool:
    data = {field: form.cleaned_data[field] for field in FIELDS if field in form.cleaned_data}
    try:
        saved = plan_save(agency=agency, plan=plan, data=data, acting_user=actor(request))
    except StripeCallError as exc:
        # plan_save stores the row before calling Stripe: saving again finishes the sync.
        messages.error(
            request,
            _("%(message)s The plan is kept; save it again to finish.") % {"message": exc.message},
        )
        return True
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return False
    messages.success(request, _("Plan “%(name)s” saved.") % {"name": saved.name})
    return True


@require_http_methods(["GET", "POST"])
@agency_page(section="plans")
def plans_page(request: HttpRequest, agency: Agency) -> HttpResponse:
    form = AgencyPlanForm(owner=agency, initial={"currency": "usd"})
    status = 200
    if request.method == "POST":
        form = AgencyPlanForm(request.POST, owner=agency)
        if form.is_valid() and _save(request, agency, form, None):
            return redirect("agency_billing:plans")
        status = 400
    context = {
        "plans": list(Plan.objects.for_agency(agency).order_by("-active", "amount", "name")),
        "account": StripeAccount.objects.for_agency(agency).first(),
        "form": form,
        "may_edit": agency_workspace(request).is_admin,
    }
    return render(request, "portal/agency/plans.html", context, status=status)


@require_http_methods(["GET", "POST"])
@agency_page(section="plans", access="admin")
def plan_edit(request: HttpRequest, agency: Agency, plan_id: int) -> HttpResponse:
    plan = _plan(agency, plan_id)
    form = AgencyPlanForm(instance=plan, owner=agency)
    status = 200
    if request.method == "POST":
        # The form works on a copy: plan_save compares against the stored row.
        form = AgencyPlanForm(request.POST, instance=_plan(agency, plan_id), owner=agency)
        if form.is_valid() and _save(request, agency, form, plan):
            return redirect("agency_billing:plans")
        status = 400
    context = {"plan": plan, "form": form}
    return render(request, "portal/agency/plan_edit.html", context, status=status)


@require_POST
@agency_page(section="plans", access="admin")
def plan_archive(request: HttpRequest, agency: Agency, plan_id: int) -> HttpResponse:
    """Archive (no longer on sale; subscribers keep it) or, with ``restore``, put back on sale."""
    plan = _plan(agency, plan_id)
    active = request.POST.get("restore") == "1"
    try:
        plan_save(agency=agency, plan=plan, data={"active": active}, acting_user=actor(request))
    except (ApplicationError, StripeCallError) as exc:
        messages.error(request, exc.message)
    else:
        verb = "is on sale again" if active else "is archived: no longer on sale"
        messages.success(request, _("“%(name)s” %(verb)s.") % {"name": plan.name, "verb": verb})
    return redirect("agency_billing:plans")


@require_POST
@agency_page(section="plans", access="admin")
def connect_start(request: HttpRequest, agency: Agency) -> HttpResponse:
    """Start (or continue) Stripe's onboarding; it comes back to the plans page."""
    back = tenant_selectors.agency_portal_url(agency, "/app/agency/billing/plans/")
    try:
        url = connect_onboarding_start(
            agency=agency,
            acting_user=actor(request),
            return_url=back,
            refresh_url=back,
        )
    except (ApplicationError, StripeCallError) as exc:
        messages.error(request, exc.message)
        return redirect("agency_billing:plans")
    return redirect(url)
