"""The agency pages' locations overview (``/app/agency/``) and branding editor
(``/app/agency/branding/``). Views only: the data comes from the selectors, the per-location facts
registry (tenants.portal_agency) and the audited ``branding_update`` service."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from . import services
from .admin.branding import BrandingForm, adjustments_message, branding_preview
from .models import Agency, Branding, Location
from .portal_agency import agency_page, agency_workspace, location_facts
from .request import actor
from .theme import theme_of

PAGE_SIZE = 25


class PortalBrandingForm(BrandingForm):
    """The agency admin's form and checks, worded for the portal."""

    class Meta(BrandingForm.Meta):
        labels = {
            "display_name": _("Brand name"),
            "logo_url": _("Logo address (URL)"),
            "favicon_url": _("Browser icon address (URL)"),
            "primary_color": _("Primary colour"),
            "accent_color": _("Accent colour"),
            "background_color": _("Background colour"),
            "support_email": _("Support e-mail"),
            "sender_name": "E-mail sender name",
        }
        help_texts = {
            "primary_color": _("Hex colour such as #1f6feb."),
            "accent_color": _("Hex colour such as #f59e0b."),
            "background_color": _("Hex colour such as #ffffff."),
        }


@require_GET
@agency_page(section="overview")
def overview(request: HttpRequest, agency: Agency) -> HttpResponse:
    """Every location of the agency with its health, subscription and recent leads."""
    query = request.GET.get("q", "").strip()[:100]
    locations = Location.objects.for_agency(agency).order_by("name", "pk")
    if query:
        locations = locations.filter(name__icontains=query)
    page_obj = Paginator(locations, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page_obj.object_list)
    facts = location_facts(agency=agency, location_ids=[loc.pk for loc in rows])
    context = {
        "page_obj": page_obj,
        "rows": [(loc, facts.get(loc.pk, {})) for loc in rows],
        "query": query,
        "querystring_base": urlencode({"q": query}) if query else "",
    }
    return render(request, "portal/agency/overview.html", context)


@require_http_methods(["GET", "POST"])
@agency_page(section="branding")
def branding_page(request: HttpRequest, agency: Agency) -> HttpResponse:
    """The agency admin's Branding form, with its theme preview and contrast warnings. Staff see
    the form read-only (agency_page refuses their POST)."""
    branding = Branding.objects.for_agency(agency).get()
    form = PortalBrandingForm(instance=branding)
    status = 200
    if request.method == "POST":
        # The form validates a copy: the service compares against the stored values.
        form = PortalBrandingForm(request.POST, instance=Branding.objects.for_agency(agency).get())
        if form.is_valid():
            data = {field: form.cleaned_data[field] for field in form.changed_data}
            saved = services.branding_update(
                branding=branding,
                acting_user=actor(request),
                data=data,
            )
            theme = theme_of(saved)
            messages.success(request, _("Branding saved.") if data else _("Nothing to change."))
            if theme.adjustments:
                messages.warning(request, adjustments_message(theme))
            return redirect("portal:agency-branding")
        status = 400
    context = {
        "form": form,
        "may_edit": agency_workspace(request).is_admin,
        "preview": branding_preview(branding),
    }
    return render(request, "portal/agency/branding.html", context, status=status)
