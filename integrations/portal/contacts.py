"""The workspace's contact pages: the searchable, filterable list and one contact's page.

The filter form is a plain GET form; with htmx it swaps only the results in place (and pushes the
URL, so the back button and a shared link show the same list).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from integrations.mirror.models import MirrorContact
from saas_platform.kernel.errors import NotFound
from tenants.entitlements import PAUSED, location_access
from tenants.models import Location
from tenants.portal import location_page

from .contact_detail import (
    contact_custom_fields,
    contact_decisions,
    contact_get,
    contact_timeline,
    custom_field_names,
)
from .contact_search import (
    DEFAULT_SORT,
    SORTS,
    UNASSIGNED,
    ContactFilters,
    agent_names,
    contact_source_choices,
    contacts_search,
)


class ContactFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    tag = forms.CharField(label=_("Tag"), required=False, max_length=200)
    source = forms.CharField(label=_("Source"), required=False, max_length=200)
    agent = forms.CharField(label=_("Assigned to"), required=False, max_length=64)
    created_from = forms.DateField(label=_("Added from"), required=False)
    created_to = forms.DateField(label=_("Added to"), required=False)
    sort = forms.ChoiceField(
        label=_("Order"), required=False, choices=[(k, s.label) for k, s in SORTS.items()]
    )

    def __init__(self, data: QueryDict) -> None:
        super().__init__(data)
        self.fields["created_from"].error_messages["invalid"] = (
            "“Added from” is not a date like 2026-03-01."
        )
        self.fields["created_to"].error_messages["invalid"] = (
            "“Added to” is not a date like 2026-03-01."
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and start > end:
            raise forms.ValidationError(_("“Added from” is after “Added to”."))
        return data

    def filters(self) -> ContactFilters:
        data = self.cleaned_data
        return ContactFilters(
            q=data["q"].strip(),
            tag=data["tag"].strip(),
            source=data["source"],
            agent=data["agent"],
            created_from=data["created_from"],
            created_to=data["created_to"],
            sort=data["sort"] or DEFAULT_SORT,
        )


def _query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def contacts_over_limit(*, location: Location) -> tuple[int, int] | None:
    """(contacts mirrored, the plan's limit) when the mirror holds more than the plan allows.
    The mirror keeps every contact GHL sends: over the limit, only new ones made through us are
    refused. While billing is paused the banner says so instead."""
    access = location_access(location=location, feature="contact_limit")
    if access.limit is None or access.reason == PAUSED:
        return None
    held = MirrorContact.objects.for_location(location).count()
    return (held, access.limit) if held > access.limit else None


@require_GET
@location_page(section="contacts")
def contact_list(request: HttpRequest, location: Location) -> HttpResponse:
    form = ContactFilterForm(request.GET)
    agents = agent_names(location=location)
    context: dict[str, Any] = {
        "form": form,
        "location": location,
        "agents": sorted(agents.items(), key=lambda item: item[1].lower()),
        "unassigned": UNASSIGNED,
        "sources": contact_source_choices(location=location),
        "filters_query": _query_without(request, "after"),
    }
    if form.is_valid():
        filters = form.filters()
        context["filters"] = filters
        result = contacts_search(
            location=location, filters=filters, after=request.GET.get("after", "")
        )
        context["result"] = result
        context["rows"] = [(c, agents.get(c.assigned_to, "")) for c in result.contacts]
    # The filter form and the pager ask htmx to swap only the results.
    in_place = (
        bool(getattr(request, "htmx", False))
        and request.headers.get("HX-Target") == "contact-results"
    )
    if not in_place:
        context["over_limit"] = contacts_over_limit(location=location)
    template = "portal/contacts/_results.html" if in_place else "portal/contacts/list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


@require_GET
@location_page(section="contacts")
def contact_detail(request: HttpRequest, location: Location, contact_id: str) -> HttpResponse:
    try:
        contact = contact_get(location=location, contact_id=contact_id)
    except NotFound as exc:
        raise Http404 from exc
    agents = agent_names(location=location)
    decisions = contact_decisions(location=location, contact=contact, agents=agents)
    context = {
        "location": location,
        "contact": contact,
        "assigned": agents.get(contact.assigned_to, "") if contact.assigned_to else "",
        "custom_fields": contact_custom_fields(
            contact=contact, names=custom_field_names(location=location)
        ),
        "timeline": contact_timeline(
            location=location, contact=contact, agents=agents, decisions=decisions
        ),
        "decisions": decisions,
    }
    return render(request, "portal/contacts/detail.html", context)
