"""The client's Payments page (admins): its payment rules ("when an opportunity is won, send its
contact an invoice"), created, changed and switched on or off here, and the payment requests they
made with their status and links. Thin views over `services.automations`."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from saas_platform.kernel.errors import ApplicationError, NotFound
from tenants.models import Location, User
from tenants.portal import PipelineChoice, location_page, location_pipelines

from .currencies import SUPPORTED
from .models import PaymentAutomation, PaymentRequest
from .services.automations import (
    MAX_DAYS_UNTIL_DUE,
    automation_default_currency,
    automation_get,
    automation_save,
    automation_set_enabled,
)

SECTION = "payments"
PAGE_SIZE = 25


class RuleForm(forms.Form):
    name = forms.CharField(
        max_length=120, help_text=_lazy("For you, e.g. “Deposit when a job is won”.")
    )
    pipeline_ghl_id = forms.ChoiceField(
        label=_lazy("When an opportunity is won in"),
        required=False,
        help_text=_lazy("Only opportunities of this pipeline, or of any pipeline."),
    )
    currency = forms.ChoiceField(
        help_text=_lazy("The invoice's currency; the opportunity's value is billed in it.")
    )
    days_until_due = forms.IntegerField(
        label=_lazy("Days to pay"),
        min_value=1,
        max_value=MAX_DAYS_UNTIL_DUE,
        initial=7,
        help_text=_lazy("The invoice is due this many days after it is sent."),
    )
    paid_stage_ghl_id = forms.ChoiceField(
        label=_lazy("When paid, move the opportunity to"),
        required=False,
        help_text=_lazy(
            "Optional. The opportunity's value is updated and a note added either way."
        ),
    )
    enabled = forms.BooleanField(required=False, initial=True, label=_lazy("On"))

    def __init__(self, *args: Any, pipelines: list[PipelineChoice], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pipelines = {p.id: p for p in pipelines}
        choices: dict[str, list[Any]] = {
            "pipeline_ghl_id": [("", _("Any pipeline"))] + [(p.id, p.name) for p in pipelines],
            "paid_stage_ghl_id": [("", _("Leave it where it is"))]
            + [(p.name, [(stage_id, stage) for stage_id, stage in p.stages]) for p in pipelines],
            "currency": [(c, c.upper()) for c in sorted(SUPPORTED)],
        }
        for name, options in choices.items():
            cast(forms.ChoiceField, self.fields[name]).choices = options

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        stage, pipeline = data.get("paid_stage_ghl_id"), data.get("pipeline_ghl_id")
        if stage:
            if not pipeline:
                self.add_error(
                    "paid_stage_ghl_id", _("Choose the pipeline first: stages are its own.")
                )
            elif stage not in {s for s, _ in self.pipelines[pipeline].stages}:
                self.add_error("paid_stage_ghl_id", _("That stage is not in the chosen pipeline."))
        return data


def _user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _rule(location: Location, automation_id: int) -> PaymentAutomation:
    try:
        return automation_get(location=location, automation_id=automation_id)
    except NotFound as exc:
        raise Http404 from exc


@require_GET
@location_page(section=SECTION, access="admin")
def payments_page(request: HttpRequest, location: Location) -> HttpResponse:
    requests = PaymentRequest.objects.for_location(location).select_related("automation")
    page = Paginator(requests, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/payments/page.html",
        {
            "location": location,
            "rules": PaymentAutomation.objects.for_location(location),
            "page_obj": page,
        },
    )


def _form_page(
    request: HttpRequest, location: Location, rule: PaymentAutomation | None
) -> HttpResponse:
    pipelines = location_pipelines(location=location)
    if rule is None:
        initial: dict[str, Any] = {
            "currency": automation_default_currency(location=location),
            "enabled": True,
            "days_until_due": 7,
        }
    else:
        initial = {field: getattr(rule, field) for field in RuleForm.base_fields}
    form = RuleForm(request.POST or None, initial=initial, pipelines=pipelines)
    if request.method == "POST" and form.is_valid():
        try:
            automation_save(
                location=location,
                automation=rule,
                data=form.cleaned_data,
                acting_user=_user(request),
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Payment rule saved."))
            return redirect("workspace_billing:payments", location_id=location.pk)
    return render(
        request,
        "portal/payments/form.html",
        {"location": location, "form": form, "rule": rule, "pipelines": pipelines},
    )


@require_http_methods(["GET", "POST"])
@location_page(section=SECTION, access="admin")
def rule_create(request: HttpRequest, location: Location) -> HttpResponse:
    return _form_page(request, location, None)


@require_http_methods(["GET", "POST"])
@location_page(section=SECTION, access="admin")
def rule_edit(request: HttpRequest, location: Location, automation_id: int) -> HttpResponse:
    return _form_page(request, location, _rule(location, automation_id))


@require_POST
@location_page(section=SECTION, access="admin")
def rule_toggle(request: HttpRequest, location: Location, automation_id: int) -> HttpResponse:
    rule = _rule(location, automation_id)
    automation_set_enabled(
        location=location, automation=rule, enabled=not rule.enabled, acting_user=_user(request)
    )
    state = _("“%(name)s” is on.") if rule.enabled else _("“%(name)s” is off.")
    messages.success(request, state % {"name": rule.name})
    return redirect("workspace_billing:payments", location_id=location.pk)
