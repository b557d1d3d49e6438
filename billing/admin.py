"""Billing in the two admin sites (registered by saas_platform.admin_sites).

Agency admin: its Stripe account's status with the onboarding link, its plans (added and changed
through `plan_save`, so a bad plan is refused with its message and nothing reaches Stripe), its
clients' subscriptions. Staff admin: every account, plan and subscription, the platform's own
plans, and the Stripe event inbox with replay."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from saas_platform.kernel.errors import ApplicationError
from tenants import selectors as tenant_selectors
from tenants.admin.scoping import (
    AgencyScopedAdmin,
    ReadOnlyAdminMixin,
    StaffAdminMixin,
    agency_of,
    can_change,
)
from tenants.models import Agency
from tenants.request import actor

from .models import (
    AgencySubscription,
    Plan,
    StripeAccount,
    StripeEvent,
    Subscription,
)
from .services.connect import connect_onboarding_start
from .services.inbox import stripe_event_replay
from .services.plans import PLAN_FIELDS, plan_save, plan_validate
from .stripe_api import StripeCallError

ACCOUNT_ADMIN = "/admin/billing/stripeaccount/"

# --- the agency's Stripe account -----------------------------------------------------------------


class AgencyStripeAccountAdmin(ReadOnlyAdminMixin, AgencyScopedAdmin):
    list_display = [
        "stripe_account_id",
        "charges_enabled",
        "payouts_enabled",
        "details_submitted",
        "still_due",
        "refreshed_at",
    ]
    fields = readonly_fields = (
        "stripe_account_id",
        "charges_enabled",
        "payouts_enabled",
        "details_submitted",
        "still_due",
        "refreshed_at",
    )
    change_list_template = "admin/billing/stripeaccount/change_list.html"

    @admin.display(description=gettext_lazy("Stripe still needs"))
    def still_due(self, obj: StripeAccount) -> str:
        return ", ".join(obj.requirements_due) or "nothing"

    def get_urls(self) -> list[URLPattern]:
        onboard = self.admin_site.admin_view(require_POST(self.onboard_view))
        return [
            path("onboard/", onboard, name="billing_stripeaccount_onboard"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        extra = {"can_onboard": can_change(request), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    def onboard_view(self, request: HttpRequest) -> HttpResponse:
        """Start (or continue) Stripe's onboarding: straight to Stripe's hosted form, which comes
        back to this page on the agency's own domain."""
        if not can_change(request):
            return HttpResponse(status=403)
        agency = agency_of(request)
        back = tenant_selectors.agency_portal_url(agency, ACCOUNT_ADMIN)
        try:
            url = connect_onboarding_start(
                agency=agency, acting_user=actor(request), return_url=back, refresh_url=back
            )
        except (ApplicationError, StripeCallError) as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
            return HttpResponseRedirect(ACCOUNT_ADMIN)
        return HttpResponseRedirect(url)


class StaffStripeAccountAdmin(StaffAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin[StripeAccount]):
    list_display = ["agency", "stripe_account_id", "charges_enabled", "payouts_enabled"]
    list_filter = ["payouts_enabled", "charges_enabled"]
    search_fields = ["stripe_account_id", "agency__name"]
    fields = readonly_fields = (
        "agency",
        "stripe_account_id",
        "charges_enabled",
        "payouts_enabled",
        "details_submitted",
        "requirements_due",
        "refreshed_at",
    )


# --- plans ---------------------------------------------------------------------------------------


class PlanForm(forms.ModelForm[Plan]):
    # Set per request by the admin: whose plans these are (None: the platform's).
    owner: Agency | None = None

    class Meta:
        model = Plan
        fields = list(PLAN_FIELDS)
        help_texts = {
            "entitlements": 'e.g. {"routing": true, "reports": true, "seats": 5, '
            '"connectors": 2, "contact_limit": 10000}',
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            plan_validate(agency=self.owner, data={f: data[f] for f in PLAN_FIELDS if f in data})
        except ApplicationError as error:
            raise forms.ValidationError(error.message) from error
        return data


class _PlanSaving:
    """Saves through `plan_save` (the form's instance is only a carrier of the values)."""

    def _owner(self, request: HttpRequest, obj: Plan | None) -> Agency | None:
        raise NotImplementedError

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        base = super().get_form(request, obj, change=change, **kwargs)  # type: ignore[misc]
        return type("PlanForm", (base,), {"owner": self._owner(request, obj)})

    def save_model(self, request: HttpRequest, obj: Plan, form: Any, change: bool) -> None:
        owner = self._owner(request, obj if change else None)
        data = {f: form.cleaned_data[f] for f in PLAN_FIELDS if f in form.cleaned_data}
        current = Plan.objects.unscoped().get(pk=obj.pk) if change else None
        try:
            saved = plan_save(agency=owner, plan=current, data=data, acting_user=actor(request))
        except (ApplicationError, StripeCallError) as exc:
            self.message_user(  # type: ignore[attr-defined]
                request,
                _("%(message)s The plan is kept; save it again to finish syncing it to Stripe.")
                % {"message": exc.message},
                level=messages.ERROR,
            )
            saved = Plan.objects.unscoped().filter(pk=obj.pk).first() or obj
        obj.pk = saved.pk


class AgencyPlanAdmin(_PlanSaving, AgencyScopedAdmin):
    form = PlanForm
    list_display = ["name", "price", "interval", "trial_days", "active", "in_stripe"]
    list_filter = ["active", "interval"]
    search_fields = ["name"]

    def _owner(self, request: HttpRequest, obj: Plan | None) -> Agency | None:
        return agency_of(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # subscriptions refer to it: make it inactive instead

    @admin.display(description=gettext_lazy("Price"))
    def price(self, obj: Plan) -> str:
        return obj.price_display

    @admin.display(description=gettext_lazy("In Stripe"), boolean=True)
    def in_stripe(self, obj: Plan) -> bool:
        return bool(obj.stripe_price_id)


class StaffPlanAdmin(StaffAdminMixin, AgencyPlanAdmin):
    """Every agency's plans, and the platform's own (no agency) sold to agencies."""

    list_display = ["name", "agency", "price", "interval", "active", "in_stripe"]
    list_filter = ["active", "interval", ("agency", admin.EmptyFieldListFilter)]

    def _owner(self, request: HttpRequest, obj: Plan | None) -> Agency | None:
        return obj.agency if obj is not None else None


# --- subscriptions -------------------------------------------------------------------------------

SUBSCRIPTION_FIELDS = (
    "location",
    "plan",
    "status",
    "current_period_end",
    "grace_until",
    "last_reminder_at",
    "stripe_subscription_id",
    "stripe_customer_id",
    "stripe_account_id",
    "synced_at",
)


class AgencySubscriptionAdmin(ReadOnlyAdminMixin, AgencyScopedAdmin):
    agency_path = "location__agency"
    list_display = ["location", "plan", "status", "current_period_end", "grace_until"]
    list_filter = ["status"]
    search_fields = ["location__name", "stripe_subscription_id"]
    fields = readonly_fields = SUBSCRIPTION_FIELDS


class StaffSubscriptionAdmin(StaffAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin[Subscription]):
    list_display = ["location", "plan", "status", "current_period_end", "grace_until"]
    list_filter = ["status"]
    search_fields = ["location__name", "stripe_subscription_id", "stripe_account_id"]
    fields = readonly_fields = SUBSCRIPTION_FIELDS


# --- the event inbox -----------------------------------------------------------------------------


class StripeEventAdmin(StaffAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin[StripeEvent]):
    list_display = ["received_at", "source", "event_type", "account", "status", "attempts"]
    list_filter = ["status", "source", "event_type"]
    search_fields = ["event_id", "account", "object_id"]
    date_hierarchy = "received_at"
    actions = ["replay"]
    fields = readonly_fields = (
        "source",
        "event_id",
        "event_type",
        "account",
        "object_id",
        "livemode",
        "received_at",
        "status",
        "attempts",
        "last_error",
        "processed_at",
        "payload",
    )

    @admin.display(description=gettext_lazy("Body"))
    def payload(self, obj: StripeEvent) -> str:
        return format_html("<pre>{}</pre>", bytes(obj.body).decode(errors="replace")[:20000])

    @admin.action(description=gettext_lazy("Replay the selected events"))
    def replay(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        outcomes = [
            stripe_event_replay(event_pk=pk) for pk in queryset.values_list("pk", flat=True)
        ]
        done = sum(1 for outcome in outcomes if outcome == StripeEvent.Status.SUCCEEDED)
        self.message_user(
            request,
            ngettext(
                "Replayed %(outcomes_count)s event; %(done)s succeeded.",
                "Replayed %(outcomes_count)s events; %(done)s succeeded.",
                len(outcomes),
            )
            % {"outcomes_count": len(outcomes), "done": done},
        )


# --- payment automations (edited on the client's Payments page, through `automation_save`) --------

AUTOMATION_FIELDS = (
    "location",
    "name",
    "action",
    "pipeline_ghl_id",
    "currency",
    "days_until_due",
    "paid_stage_ghl_id",
    "enabled",
    "created_at",
    "updated_at",
)
REQUEST_FIELDS = (
    "location",
    "automation",
    "opportunity_name",
    "opportunity_ghl_id",
    "contact_ghl_id",
    "customer_email",
    "amount_display",
    "application_fee_amount",
    "status",
    "error",
    "stripe_account_id",
    "stripe_object_id",
    "hosted_url",
    "paid_at",
    "created_at",
)


class AgencyPaymentAutomationAdmin(ReadOnlyAdminMixin, AgencyScopedAdmin):
    agency_path = "location__agency"
    list_display = ["name", "location", "action", "currency", "enabled"]
    list_filter = ["enabled", "action"]
    search_fields = ["name", "location__name"]
    fields = readonly_fields = AUTOMATION_FIELDS


class StaffPaymentAutomationAdmin(StaffAdminMixin, AgencyPaymentAutomationAdmin):
    pass


class AgencyPaymentRequestAdmin(ReadOnlyAdminMixin, AgencyScopedAdmin):
    agency_path = "location__agency"
    list_display = ["created_at", "location", "opportunity_name", "amount_display", "status"]
    list_filter = ["status"]
    search_fields = ["opportunity_name", "customer_email", "stripe_object_id"]
    fields = readonly_fields = REQUEST_FIELDS


class StaffPaymentRequestAdmin(StaffAdminMixin, AgencyPaymentRequestAdmin):
    search_fields = [*AgencyPaymentRequestAdmin.search_fields, "stripe_account_id"]


# --- agencies' platform subscriptions ------------------------------------------------------------

AGENCY_SUBSCRIPTION_FIELDS = (
    "plan",
    "status",
    "trial_end",
    "current_period_end",
    "cancel_at_period_end",
    "grace_until",
    "last_reminder_at",
    "stripe_subscription_id",
    "stripe_customer_id",
    "synced_at",
)


class AgencyOwnSubscriptionAdmin(ReadOnlyAdminMixin, AgencyScopedAdmin):
    """The agency's own subscriptions to the platform's plans (read-only: Stripe decides)."""

    list_display = ["plan", "status", "current_period_end", "grace_until"]
    list_filter = ["status"]
    fields = readonly_fields = AGENCY_SUBSCRIPTION_FIELDS


class StaffAgencySubscriptionAdmin(
    StaffAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin[AgencySubscription]
):
    list_display = ["agency", "plan", "status", "current_period_end", "grace_until"]
    list_filter = ["status"]
    search_fields = ["agency__name", "stripe_subscription_id", "stripe_customer_id"]
    fields = readonly_fields = ("agency", *AGENCY_SUBSCRIPTION_FIELDS)
