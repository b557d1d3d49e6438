"""Custom domains on the agency pages (``/app/agency/domains/``): the list with each domain's
state, adding one, the DNS records to create, Verify now, make primary and remove — all through
the audited domain services of ``tenants.services``, the same ones the agency admin uses."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from saas_platform.kernel.errors import ApplicationError

from . import dns, services
from .models import Agency, AgencyDomain
from .portal_agency import agency_page, agency_workspace
from .request import actor


class DomainAddForm(forms.Form):
    domain = forms.CharField(
        label=_("Domain"),
        max_length=253,
        help_text=_("A domain or subdomain you own, e.g. portal.youragency.com."),
    )


def _domain(agency: Agency, domain_id: int) -> AgencyDomain:
    """The agency's own domain; another agency's and a missing one are the same 404."""
    found: AgencyDomain | None = (
        AgencyDomain.objects.for_agency(agency).filter(pk=domain_id).first()
    )
    if found is None:
        raise Http404
    return found


def _rows(agency: Agency) -> list[dict[str, object]]:
    target = services.platform_subdomain(agency.slug)
    rows: list[dict[str, object]] = []
    for domain in AgencyDomain.objects.for_agency(agency).order_by("-is_primary", "domain"):
        custom = domain.kind == AgencyDomain.Kind.CUSTOM
        rows.append(
            {
                "domain": domain,
                "custom": custom,
                "cname_target": target,
                "txt_name": dns.verification_record_name(domain.domain),
            }
        )
    return rows


@require_http_methods(["GET", "POST"])
@agency_page(section="domains")
def domains_page(request: HttpRequest, agency: Agency) -> HttpResponse:
    form = DomainAddForm()
    status = 200
    if request.method == "POST":
        form = DomainAddForm(request.POST)
        if form.is_valid():
            try:
                added = services.agency_domain_add(
                    agency=agency,
                    domain=form.cleaned_data["domain"],
                    acting_user=actor(request),
                )
            except ApplicationError as exc:
                form.add_error("domain", exc.message)
            else:
                messages.success(
                    request,
                    _("%(domain)s added. Create the DNS records below, then press Verify.")
                    % {"domain": added.domain},
                )
                return redirect("portal:agency-domains")
        status = 400
    context = {
        "rows": _rows(agency),
        "form": form,
        "may_edit": agency_workspace(request).is_admin,
    }
    return render(request, "portal/agency/domains.html", context, status=status)


@require_POST
@agency_page(section="domains", access="admin")
def domain_verify(request: HttpRequest, agency: Agency, domain_id: int) -> HttpResponse:
    domain = _domain(agency, domain_id)
    if services.agency_domain_check(domain=domain):
        messages.success(request, _("%(domain)s is verified.") % {"domain": domain.domain})
    else:
        messages.warning(
            request,
            _(
                "%(domain)s is not verified yet: no TXT record at %(value)s carries the value "
                "shown. DNS changes can take a while to spread; we also keep checking by "
                "ourselves for a week."
            )
            % {"domain": domain.domain, "value": dns.verification_record_name(domain.domain)},
        )
    return redirect("portal:agency-domains")


@require_POST
@agency_page(section="domains", access="admin")
def domain_make_primary(request: HttpRequest, agency: Agency, domain_id: int) -> HttpResponse:
    domain = _domain(agency, domain_id)
    try:
        services.agency_domain_make_primary(domain=domain, acting_user=actor(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("%(domain)s is now your primary domain.") % {"domain": domain.domain}
        )
    return redirect("portal:agency-domains")


@require_POST
@agency_page(section="domains", access="admin")
def domain_remove(request: HttpRequest, agency: Agency, domain_id: int) -> HttpResponse:
    domain = _domain(agency, domain_id)
    name = domain.domain
    try:
        services.agency_domain_remove(domain=domain, acting_user=actor(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(name)s removed.") % {"name": name})
    return redirect("portal:agency-domains")
