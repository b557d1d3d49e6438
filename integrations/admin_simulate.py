"""The "Simulate routing" admin page (on the routing rules): a location and a number of days in,
the simulator's figures beside what actually happened out. A GET form: the page only reads, so
a result can be bookmarked and reloaded."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext as _

from saas_platform.kernel.errors import ApplicationError
from tenants.models import Location

from .routing.figures import Fairness
from .routing.simulator import MAX_DAYS, SimulationResult, routing_simulate


class SimulateForm(forms.Form):
    location = forms.ModelChoiceField(queryset=Location.objects.none())
    days = forms.IntegerField(
        min_value=1,
        max_value=MAX_DAYS,
        initial=30,
        help_text=_("Replay the leads that arrived in the last 1 to %(MAX_DAYS)s days.")
        % {"MAX_DAYS": MAX_DAYS},
    )

    def __init__(self, *args: Any, locations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = locations  # type: ignore[attr-defined]


class SimulateMixin:
    """For the RoutingRule admin: `simulate/` runs the location's saved enabled rules."""

    admin_site: Any
    model: Any

    def get_urls(self) -> list[Any]:
        simulate = path(
            "simulate/",
            self.admin_site.admin_view(self.simulate_view),
            name="integrations_routingrule_simulate",
        )
        return [simulate, *super().get_urls()]  # type: ignore[misc]

    def _locations(self, request: HttpRequest) -> Any:
        """The locations this admin may pick (the agency's, or every one on the staff site):
        the same scope as the rule form's location field."""
        field = self.model._meta.get_field("location")
        return self.formfield_for_foreignkey(field, request).queryset  # type: ignore[attr-defined]

    def simulate_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        locations = self._locations(request)
        raw = request.GET.get("location", "")
        if raw and not (raw.isdigit() and locations.filter(pk=raw).exists()):
            raise Http404  # another agency's location and a missing one look the same
        form = SimulateForm(request.GET if raw else None, locations=locations)
        result = None
        if raw and form.is_valid():
            try:
                result = routing_simulate(
                    location=form.cleaned_data["location"], days=form.cleaned_data["days"]
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Simulate routing",
            "has_view_permission": True,
            "form": form,
            "result": result,
            "figures": _present(result) if result else None,
        }
        return TemplateResponse(request, "admin/integrations/routingrule/simulate.html", context)


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share:.1%}"


def _fairness(fairness: Fairness) -> dict[str, str]:
    ratio, jain = fairness.max_min_ratio, fairness.jain
    return {
        "max_share": _percent(fairness.max_share),
        "min_share": _percent(fairness.min_share),
        # Someone in the pool got nothing: the ratio has no finite value.
        "ratio": "—" if ratio is None else f"{ratio:.2f}",
        "jain": "—" if jain is None else f"{jain:.3f}",
    }


def _present(result: SimulationResult) -> dict[str, Any]:
    simulated, actual = result.simulated, result.actual
    return {
        "rows": [
            {
                "agent": row.agent,
                "name": row.name,
                "in_pool": row.in_pool,
                "simulated": row.simulated,
                "simulated_share": _percent(row.simulated_share),
                "cap_hits": row.cap_hits,
                "actual": row.actual,
                "actual_share": _percent(row.actual_share),
                "actual_cap_hits": actual.cap_hits[row.agent],
            }
            for row in result.rows()
        ],
        "totals": [
            ("Fallback pool", simulated.fallback, actual.fallback),
            ("Unroutable", simulated.unroutable, actual.unroutable),
            ("Not routed, nobody assigned in GHL", "—", actual.unassigned),
        ],
        "fairness": [
            (
                label,
                _fairness(result.simulated_fairness)[key],
                _fairness(result.actual_fairness)[key],
            )
            for key, label in (
                ("max_share", "Largest share"),
                ("min_share", "Smallest share"),
                ("ratio", "Largest ÷ smallest share"),
                ("jain", "Jain's fairness index (1 = even)"),
            )
        ],
    }
