"""The agents of routing in the workspace: every GHL user of the location, whether they have a
routing profile, and the profile form (caps, weight, attributes, hours, out of office)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from integrations.routing.models import AgentProfile
from integrations.routing.services import (
    agent_profile_delete,
    agent_profile_save,
)
from saas_platform.kernel.errors import ApplicationError
from tenants.models import Location
from tenants.portal import location_page
from tenants.request import actor

from .forms import place_error, unbranded
from .routing_forms import AgentProfileForm, agent_names

SECTION = "routing"
_PROFILE_ERRORS = (
    ("unknown agent", "agent"),
    ("weight", "weight"),
    ("leads per day", "max_per_day"),
    ("open leads", "max_open"),
    ("attributes", "attributes"),
    *(
        (f"business hours {day}", f"hours_{day}")
        for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    ),
    ("time zone", "hours_timezone"),
    ("out of office", "out_of_office_until"),
)


def _profile(location: Location, profile_id: int) -> AgentProfile:
    profile: AgentProfile | None = (
        AgentProfile.objects.for_location(location).filter(pk=profile_id).first()
    )
    if profile is None:
        raise Http404
    return profile


def _agents_url(location: Location) -> str:
    return reverse("workspace:routing_agents", kwargs={"location_id": location.pk})


@location_page(section=SECTION, access="admin")
def agents(request: HttpRequest, location: Location) -> HttpResponse:
    names = agent_names(location)
    profiles = {p.ghl_user_id: p for p in AgentProfile.objects.for_location(location)}
    rows = [{"id": gid, "name": name, "profile": profiles.get(gid)} for gid, name in names.items()]
    # A profile whose user left GHL still routes nothing: shown so it can be removed.
    rows += [
        {"id": gid, "name": gid, "profile": p} for gid, p in profiles.items() if gid not in names
    ]
    return render(request, "portal/routing/agents.html", {"location": location, "rows": rows})


@location_page(section=SECTION, access="admin")
def agent_edit(
    request: HttpRequest, location: Location, profile_id: int | None = None
) -> HttpResponse:
    profile = _profile(location, profile_id) if profile_id is not None else None
    editing = profile.ghl_user_id if profile else None
    if request.method == "POST":
        form = AgentProfileForm(request.POST, location=location, editing=editing)
        if form.is_valid() and _save(request, form, location):
            messages.success(request, _("Agent profile saved."))
            return HttpResponseRedirect(_agents_url(location))
    else:
        initial = (
            AgentProfileForm.initial_for(profile)
            if profile
            else {"agent": request.GET.get("agent", "")}
        )
        form = AgentProfileForm(initial=initial, location=location, editing=editing)
    context = {"location": location, "form": form, "profile": profile}
    return render(request, "portal/routing/agent_form.html", context)


def _save(request: HttpRequest, form: AgentProfileForm, location: Location) -> bool:
    data = form.cleaned_data
    values: dict[str, Any] = {
        "weight": data["weight"],
        "max_per_day": data.get("max_per_day"),
        "max_open": data.get("max_open"),
        "attributes": data["attributes"],
        "hours": form.hours(),
        "hours_timezone": (data.get("hours_timezone") or "").strip(),
        "out_of_office_from": data.get("out_of_office_from"),
        "out_of_office_until": data.get("out_of_office_until"),
    }
    try:
        agent_profile_save(
            location=location,
            ghl_user_id=data["agent"],
            active=data["active"],
            acting_user=actor(request),
            **values,
        )
    except ApplicationError as error:
        place_error(form, error.message, _PROFILE_ERRORS)
        return False
    return True


@location_page(section=SECTION, access="admin")
def agent_remove(request: HttpRequest, location: Location, profile_id: int) -> HttpResponse:
    """GET asks for confirmation; POST deletes (refused while a rule names the agent)."""
    profile = _profile(location, profile_id)
    error = None
    if request.method == "POST":
        try:
            agent_profile_delete(profile=profile, acting_user=actor(request))
        except ApplicationError as refused:
            error = unbranded(refused.message)
        else:
            messages.success(request, _("Agent profile deleted."))
            return HttpResponseRedirect(_agents_url(location))
    name = agent_names(location).get(profile.ghl_user_id, profile.ghl_user_id)
    context = {"location": location, "profile": profile, "name": name, "error": error}
    return render(
        request, "portal/routing/agent_delete.html", context, status=400 if error else 200
    )
