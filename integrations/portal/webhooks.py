"""The Webhooks page of the client workspace (admins only): endpoints with their secret shown
once, "roll secret", a test event, and the delivery log with replay. Thin views over
integrations.webhooks_out.endpoints; every form works as a plain POST."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from saas_platform.kernel.errors import ApplicationError, NotFound
from tenants.models import Location, User
from tenants.portal import location_page

from ..webhooks_out import endpoints as services
from ..webhooks_out.catalog import EVENT_CHOICES
from ..webhooks_out.delivery import payload
from ..webhooks_out.models import WebhookDelivery, WebhookEndpoint

PAGE_SIZE = 25
SECTION = "webhooks"


class EndpointForm(forms.Form):
    url = forms.URLField(
        label=_("Endpoint URL"),
        max_length=2048,
        assume_scheme="https",
        help_text=_("Where we POST the events, e.g. https://example.com/hooks. Public https only."),
    )
    description = forms.CharField(
        max_length=200, required=False, help_text=_("Optional: what this endpoint is for.")
    )
    event_types = forms.MultipleChoiceField(
        label=_("Events to send"),
        choices=EVENT_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one event.")},
    )


class EndpointEditForm(EndpointForm):
    enabled = forms.BooleanField(
        label=_("Enabled"), required=False, help_text=_("Turn off to pause deliveries.")
    )


def _user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _endpoint(location: Location, endpoint_id: int) -> WebhookEndpoint:
    try:
        return services.endpoint_get(location=location, endpoint_id=endpoint_id)
    except NotFound as exc:
        raise Http404 from exc


def _secret_page(
    request: HttpRequest, location: Location, endpoint: WebhookEndpoint, secret: str, fresh: bool
) -> HttpResponse:
    response = render(
        request,
        "portal/webhooks/secret.html",
        {"location": location, "endpoint": endpoint, "secret": secret, "fresh": fresh},
    )
    response["Cache-Control"] = "no-store"  # the secret must not linger in any cache
    return response


@location_page(section=SECTION, access="admin")
def endpoint_list(request: HttpRequest, location: Location) -> HttpResponse:
    return render(
        request,
        "portal/webhooks/list.html",
        {"location": location, "endpoints": services.endpoints_of_location(location=location)},
    )


@location_page(section=SECTION, access="admin")
@require_http_methods(["GET", "POST"])
def endpoint_create(request: HttpRequest, location: Location) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.endpoint_create(
                agency=location.agency,
                location=location,
                url=form.cleaned_data["url"],
                description=form.cleaned_data["description"],
                event_types=form.cleaned_data["event_types"],
                acting_user=_user(request),
            )
        except ApplicationError as exc:
            form.add_error(exc.extra.get("field"), exc.message)
        else:
            return _secret_page(request, location, endpoint, endpoint.secret, fresh=True)
    return render(
        request, "portal/webhooks/form.html", {"location": location, "form": form, "new": True}
    )


@location_page(section=SECTION, access="admin")
@require_http_methods(["GET", "POST"])
def endpoint_detail(request: HttpRequest, location: Location, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(location, endpoint_id)
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
        "enabled": endpoint.enabled,
    }
    form = EndpointEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.endpoint_update(
                endpoint=endpoint,
                url=form.cleaned_data["url"],
                description=form.cleaned_data["description"],
                event_types=form.cleaned_data["event_types"],
                enabled=form.cleaned_data["enabled"],
                acting_user=_user(request),
            )
        except ApplicationError as exc:
            form.add_error(exc.extra.get("field"), exc.message)
        else:
            messages.success(request, _("Endpoint saved."))
            return redirect(
                "workspace:webhook_endpoint", location_id=location.pk, endpoint_id=endpoint.pk
            )
    deliveries = WebhookDelivery.objects.for_endpoint(endpoint).select_related("event")
    status = request.GET.get("status", "")
    if status in WebhookDelivery.Status.values:
        deliveries = deliveries.filter(status=status)
    page = Paginator(deliveries.order_by("-created_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context: dict[str, Any] = {
        "location": location,
        "endpoint": endpoint,
        "form": form,
        "page_obj": page,
        "status": status,
        "statuses": WebhookDelivery.Status.choices,
        "querystring_base": f"status={status}" if status else "",
    }
    return render(request, "portal/webhooks/detail.html", context)


@location_page(section=SECTION, access="admin")
@require_POST
def endpoint_secret_roll(
    request: HttpRequest, location: Location, endpoint_id: int
) -> HttpResponse:
    endpoint = _endpoint(location, endpoint_id)
    secret = services.endpoint_secret_roll(endpoint=endpoint, acting_user=_user(request))
    return _secret_page(request, location, endpoint, secret, fresh=False)


@location_page(section=SECTION, access="admin")
@require_POST
def endpoint_test(request: HttpRequest, location: Location, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(location, endpoint_id)
    if not endpoint.enabled:
        messages.error(request, _("Turn the endpoint on before sending a test event."))
    else:
        services.endpoint_test_send(
            endpoint=endpoint, location=location, acting_user=_user(request)
        )
        messages.success(request, _("Test event queued: it appears in the delivery log below."))
    return redirect("workspace:webhook_endpoint", location_id=location.pk, endpoint_id=endpoint.pk)


@location_page(section=SECTION, access="admin")
@require_http_methods(["GET", "POST"])
def endpoint_delete(request: HttpRequest, location: Location, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(location, endpoint_id)
    if request.method == "POST":
        services.endpoint_delete(endpoint=endpoint, acting_user=_user(request))
        messages.success(request, _("Endpoint deleted."))
        return redirect("workspace:webhooks", location_id=location.pk)
    return render(
        request, "portal/webhooks/delete.html", {"location": location, "endpoint": endpoint}
    )


@location_page(section=SECTION, access="admin")
def delivery_detail(request: HttpRequest, location: Location, delivery_id: int) -> HttpResponse:
    try:
        delivery = services.delivery_get(location=location, delivery_id=delivery_id)
    except NotFound as exc:
        raise Http404 from exc
    body = json.dumps(json.loads(payload(delivery)), indent=2, ensure_ascii=False)
    return render(
        request,
        "portal/webhooks/delivery.html",
        {"location": location, "delivery": delivery, "payload": body},
    )


@location_page(section=SECTION, access="admin")
@require_POST
def delivery_replay(request: HttpRequest, location: Location, delivery_id: int) -> HttpResponse:
    try:
        delivery = services.delivery_get(location=location, delivery_id=delivery_id)
        services.delivery_replay(delivery=delivery, acting_user=_user(request))
    except NotFound as exc:
        raise Http404 from exc
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Delivery queued again."))
    return redirect("workspace:webhook_delivery", location_id=location.pk, delivery_id=delivery_id)
