"""Admin screens of outbound webhooks: agencies manage their endpoints (a location's, or one for
every client) with the secret shown once, "roll secret" and a test event; the delivery log with
replay. Operators see every tenant's, read-only but for replay."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy, ngettext
from django.utils.translation import gettext_lazy as _

from saas_platform.kernel.errors import ApplicationError
from tenants.admin.scoping import (
    AgencyRelatedFilter,
    AgencyScopedAdmin,
    ReadOnlyAdminMixin,
    StaffAdminMixin,
    agency_of,
)
from tenants.models import User

from .webhooks_out import endpoints as services
from .webhooks_out.catalog import EVENT_CHOICES
from .webhooks_out.models import WebhookDelivery, WebhookEndpoint


def _user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


class EndpointAdminForm(forms.ModelForm[WebhookEndpoint]):
    event_types = forms.MultipleChoiceField(
        choices=EVENT_CHOICES, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("location", "url", "description", "event_types", "enabled")

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        if self.instance.pk is None or url != self.instance.url:
            try:
                services.endpoint_url_check(url=url)
            except ApplicationError as exc:
                raise forms.ValidationError(exc.message) from exc
        return url


def _secret_response(
    request: HttpRequest, admin_site: Any, endpoint: WebhookEndpoint, secret: str
) -> HttpResponse:
    response = TemplateResponse(
        request,
        "admin/webhooks_out/secret.html",
        {
            **admin_site.each_context(request),
            "title": "Signing secret",
            "endpoint": endpoint,
            "secret": secret,
            "back": reverse(f"{admin_site.name}:integrations_webhookendpoint_changelist"),
        },
    )
    response["Cache-Control"] = "no-store"
    return response


class WebhookEndpointAdmin(AgencyScopedAdmin):
    form = EndpointAdminForm
    list_display = ["__str__", "location", "url", "enabled", "failing_since", "last_success_at"]
    list_filter = ["enabled", ("location", AgencyRelatedFilter)]
    list_select_related = ["location"]
    search_fields = ["url", "description"]
    readonly_fields = [
        "disabled_reason",
        "disabled_at",
        "consecutive_failures",
        "failing_since",
        "last_success_at",
    ]
    actions = ["roll_secret", "send_test_event"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            # `obj` already carries the form's values; the service compares with the stored row.
            stored = WebhookEndpoint.objects.for_agency(agency_of(request)).get(pk=obj.pk)
            services.endpoint_update(
                endpoint=stored,
                url=data["url"],
                description=data["description"],
                event_types=data["event_types"],
                enabled=data["enabled"],
                acting_user=_user(request),
            )
            return
        created = services.endpoint_create(
            agency=agency_of(request),
            location=data["location"],
            url=data["url"],
            description=data["description"],
            event_types=data["event_types"],
            acting_user=_user(request),
        )
        obj.pk, obj.secret = created.pk, created.secret

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        return ["location", *fields] if obj is not None else fields

    def response_add(self, request: HttpRequest, obj: Any, post_url_continue: Any = None) -> Any:
        return _secret_response(request, self.admin_site, obj, obj.secret)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.endpoint_delete(endpoint=obj, acting_user=_user(request))

    @admin.action(description=gettext_lazy("Roll the signing secret (one endpoint)"))
    def roll_secret(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> Any:
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one endpoint."), messages.ERROR)
            return None
        endpoint = queryset.get()
        secret = services.endpoint_secret_roll(endpoint=endpoint, acting_user=_user(request))
        return _secret_response(request, self.admin_site, endpoint, secret)

    @admin.action(description=gettext_lazy("Send a test event"))
    def send_test_event(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        sent = 0
        for endpoint in queryset.filter(enabled=True, location__isnull=False):
            services.endpoint_test_send(
                endpoint=endpoint, location=endpoint.location, acting_user=_user(request)
            )
            sent += 1
        skipped = queryset.count() - sent
        note = f" ({skipped} skipped: turned off, or for every client)" if skipped else ""
        self.message_user(
            request,
            ngettext(
                "%(sent)s test event queued%(note)s.", "%(sent)s test events queued%(note)s.", sent
            )
            % {"sent": sent, "note": note},
            messages.SUCCESS,
        )


class WebhookDeliveryAdmin(ReadOnlyAdminMixin, AgencyScopedAdmin):
    agency_path = "endpoint__agency"
    list_display = [
        "created_at",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "response_status",
        "next_attempt_at",
        "error",
    ]
    list_filter = ["status"]
    list_select_related = ["event", "endpoint"]
    fields = readonly_fields = (
        "endpoint",
        "event_type",
        "event_id",
        "status",
        "attempts",
        "created_at",
        "last_attempt_at",
        "next_attempt_at",
        "delivered_at",
        "response_status",
        "duration_ms",
        "error",
        "response_excerpt",
    )
    actions = ["replay"]

    @admin.display(description=gettext_lazy("Event"))
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.event.type

    @admin.action(description=gettext_lazy("Replay (send again now)"))
    def replay(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        replayed = 0
        for delivery in queryset.select_related("endpoint"):
            try:
                services.delivery_replay(delivery=delivery, acting_user=_user(request))
            except ApplicationError as exc:
                self.message_user(
                    request,
                    _("%(delivery)s: %(message)s") % {"delivery": delivery, "message": exc.message},
                    messages.ERROR,
                )
            else:
                replayed += 1
        self.message_user(
            request,
            ngettext(
                "%(replayed)s delivery queued again.",
                "%(replayed)s deliveries queued again.",
                replayed,
            )
            % {"replayed": replayed},
            messages.SUCCESS,
        )


class StaffWebhookEndpointAdmin(StaffAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin[Any]):
    list_display = ["__str__", "agency", "location", "enabled", "failing_since", "last_success_at"]
    list_filter = ["enabled"]
    list_select_related = ["agency", "location"]
    search_fields = ["url", "agency__name"]
    exclude = ["secret", "previous_secret"]


class StaffWebhookDeliveryAdmin(StaffAdminMixin, WebhookDeliveryAdmin):
    pass
