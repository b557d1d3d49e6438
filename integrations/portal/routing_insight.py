"""Read-only routing pages of the workspace: the simulator (the saved rules replayed over the
last N days of real leads, nothing written anywhere) and the recent decisions with their reasons."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from integrations.mirror.models import MirrorContact
from integrations.routing.decide import REASONS
from integrations.routing.figures import Fairness
from integrations.routing.models import RoutingDecision
from integrations.routing.simulator import MAX_DAYS, SimulationResult, routing_simulate
from saas_platform.kernel.errors import ApplicationError
from tenants.models import Location
from tenants.portal import location_page

from .forms import unbranded
from .routing_forms import agent_names

SECTION = "routing"
PAGE_SIZE = 50


class SimulateForm(forms.Form):
    days = forms.IntegerField(
        label=_("Replay the leads of the last"),
        min_value=1,
        max_value=MAX_DAYS,
        initial=30,
        help_text=_("Days, 1 to %(MAX_DAYS)s.") % {"MAX_DAYS": MAX_DAYS},
    )


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share:.1%}"


def _fairness_rows(result: SimulationResult) -> list[tuple[StrOrPromise, str, str]]:
    def shown(fairness: Fairness) -> dict[str, str]:
        ratio, jain = fairness.max_min_ratio, fairness.jain
        return {
            "max": _percent(fairness.max_share),
            "min": _percent(fairness.min_share),
            "ratio": "—" if ratio is None else f"{ratio:.2f}",  # someone got nothing
            "jain": "—" if jain is None else f"{jain:.3f}",
        }

    simulated, actual = shown(result.simulated_fairness), shown(result.actual_fairness)
    labels = (
        ("max", _("Largest share")),
        ("min", _("Smallest share")),
        ("ratio", _("Largest ÷ smallest share")),
        ("jain", _("Jain's fairness index (1 = even)")),
    )
    return [(label, simulated[key], actual[key]) for key, label in labels]


@location_page(section=SECTION, access="admin")
def simulate(request: HttpRequest, location: Location) -> HttpResponse:
    """A GET form: the page only reads, so a result can be bookmarked and reloaded."""
    form = SimulateForm(request.GET if "days" in request.GET else None)
    result: SimulationResult | None = None
    if form.is_bound and form.is_valid():
        try:
            result = routing_simulate(location=location, days=form.cleaned_data["days"])
        except ApplicationError as error:
            form.add_error(None, unbranded(error.message))
    context: dict[str, Any] = {"location": location, "form": form, "result": result}
    if result is not None:
        names = agent_names(location)
        context["rows"] = [
            {
                "name": names.get(row.agent) or row.name or row.agent,
                "in_pool": row.in_pool,
                "simulated": row.simulated,
                "simulated_share": _percent(row.simulated_share),
                "cap_hits": row.cap_hits,
                "actual": row.actual,
                "actual_share": _percent(row.actual_share),
                "actual_cap_hits": result.actual.cap_hits[row.agent],
            }
            for row in result.rows()
        ]
        context["totals"] = [
            (_("Served by the fallback pool"), result.simulated.fallback, result.actual.fallback),
            ("Unroutable", result.simulated.unroutable, result.actual.unroutable),
        ]
        context["fairness"] = _fairness_rows(result)
    return render(request, "portal/routing/simulate.html", context)


@location_page(section=SECTION, access="admin")
def decisions(request: HttpRequest, location: Location) -> HttpResponse:
    names = agent_names(location)
    queryset = RoutingDecision.objects.for_location(location).order_by("-created_at", "-id")
    agent, outcome = request.GET.get("agent", ""), request.GET.get("outcome", "")
    if agent:
        queryset = queryset.filter(agent_ghl_id=agent)
    if outcome in RoutingDecision.Status.values:
        queryset = queryset.filter(status=outcome)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    leads = _lead_names(location, [d.contact_ghl_id for d in page.object_list])
    rows = [
        {
            "decision": d,
            "lead": leads.get(d.contact_ghl_id) or d.contact_ghl_id,
            "agent": names.get(d.agent_ghl_id, d.agent_ghl_id),
            # The summary names the agent by id: shown with the person's name instead.
            "summary": d.summary.replace(d.agent_ghl_id, names.get(d.agent_ghl_id, d.agent_ghl_id))
            if d.agent_ghl_id
            else d.summary,
            "candidates": [_candidate(c, names) for c in d.candidates],
        }
        for d in page.object_list
    ]
    agents = sorted(
        set(
            RoutingDecision.objects.for_location(location)
            .exclude(agent_ghl_id="")
            .values_list("agent_ghl_id", flat=True)
            .distinct()[:200]
        )
    )
    context = {
        "location": location,
        "rows": rows,
        "page_obj": page,
        "agents": [(a, names.get(a, a)) for a in agents],
        "outcomes": RoutingDecision.Status.choices,
        "agent": agent,
        "outcome": outcome,
        "querystring_base": urlencode(
            {k: v for k, v in (("agent", agent), ("outcome", outcome)) if v}
        ),
    }
    return render(request, "portal/routing/decisions.html", context)


def _lead_names(location: Location, contact_ids: list[str]) -> dict[str, str]:
    contacts = MirrorContact.objects.for_location(location).filter(ghl_id__in=contact_ids)
    found = contacts.values_list("ghl_id", "first_name", "last_name", "email")
    return {
        gid: " ".join(p for p in (first, last) if p) or email for gid, first, last, email in found
    }


def _candidate(candidate: dict[str, Any], names: dict[str, str]) -> dict[str, str]:
    if candidate.get("chosen"):
        verdict = "chosen"
    elif candidate.get("eligible"):
        verdict = "eligible"
    else:
        reason = candidate.get("reason", "")
        verdict = "skipped: " + str(REASONS.get(reason, reason))
    return {
        "agent": names.get(candidate["agent"], candidate["agent"]),
        "pool": "fallback" if candidate.get("pool") == "fallback" else "main",
        "verdict": verdict,
        "detail": str(candidate.get("detail") or ""),
    }
