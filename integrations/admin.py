"""Admin screens of the integrations (registered on both sites in saas_platform.admin_sites):
the connection health page, the GHL call log and the inbound-event inbox."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import models
from django.db.models import Q
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from tenants.admin.scoping import (
    AgencyRelatedFilter,
    AgencyScopedAdmin,
    ReadOnlyAdminMixin,
    StaffAdminMixin,
    agency_of,
)
from tenants.models import Location

from .ghl import vault
from .ghl.governor import get_governor
from .ghl.models import GhlInstallation
from .ghl.reconnect import reconnect_link_send, reconnect_url
from .inbox.models import InboundEvent
from .inbox.services import inbound_event_replay


class ConnectionHealthAdmin(ReadOnlyAdminMixin, AgencyScopedAdmin):
    """Every GHL connection of the agency: state, token expiry, last error, today's budget."""

    list_display = [
        "target",
        "user_type",
        "state",
        "access_expires_at",
        "budget_left_today",
        "last_error_short",
        "reconnect",
    ]
    list_filter = ["status", "user_type"]
    search_fields = ["location__name", "ghl_location_id"]
    list_select_related = ["agency", "location"]
    actions = ["send_reconnect_links"]
    fields = readonly_fields = (
        "target",
        "user_type",
        "state",
        "ghl_company_id",
        "ghl_location_id",
        "plan_id",
        "scopes",
        "access_expires_at",
        "refreshed_at",
        "last_error",
        "last_error_at",
        "uninstalled_at",
    )

    @admin.display(description=gettext_lazy("Connected to"))
    def target(self, obj: GhlInstallation) -> str:
        return obj.location.name if obj.location is not None else f"{obj.agency.name} (agency)"

    @admin.display(description=gettext_lazy("State"))
    def state(self, obj: GhlInstallation) -> str:
        if vault.is_refreshing(obj.pk):
            return "Refreshing"
        return obj.get_status_display()

    @admin.display(description=gettext_lazy("API budget left today"))
    def budget_left_today(self, obj: GhlInstallation) -> str:
        stats = get_governor().stats(obj.resource_id)
        remaining = getattr(stats, "daily_remaining", None)
        return "—" if remaining is None else f"{remaining:,}"

    @admin.display(description=gettext_lazy("Last error"))
    def last_error_short(self, obj: GhlInstallation) -> str:
        return (obj.last_error[:80] + "…") if len(obj.last_error) > 80 else obj.last_error

    @admin.display(description=gettext_lazy(""))
    def reconnect(self, obj: GhlInstallation) -> str:
        if obj.status not in (
            GhlInstallation.Status.NEEDS_REAUTH,
            GhlInstallation.Status.UNINSTALLED,
        ):
            return ""
        return format_html('<a class="button" href="{}">Reconnect</a>', reconnect_url(obj))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return AgencyScopedAdmin.has_view_permission(self, request, obj)

    @admin.action(description=gettext_lazy("Email reconnect links for the selected connections"))
    def send_reconnect_links(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        needing = queryset.filter(status=GhlInstallation.Status.NEEDS_REAUTH)
        sent = sum(reconnect_link_send(installation_id=inst.pk) for inst in needing)
        skipped = queryset.count() - needing.count()
        self.message_user(
            request,
            _(
                "Reconnect links sent (%(sent)s emails). %(skipped)s selected connection(s) did "
                "not need reconnecting."
            )
            % {"sent": sent, "skipped": skipped},
            messages.SUCCESS if sent else messages.WARNING,
        )


class StaffConnectionAdmin(StaffAdminMixin, ConnectionHealthAdmin):
    list_display = ["agency", *ConnectionHealthAdmin.list_display]
    list_filter = ["status", "user_type", "agency"]


class CallLogAdmin(ReadOnlyAdminMixin, AgencyScopedAdmin):
    list_display = ["created_at", "method", "path", "status", "latency_ms", "location", "priority"]
    list_filter = ["status", "method", "priority", ("location", AgencyRelatedFilter)]
    search_fields = ["path", "error"]
    date_hierarchy = "created_at"
    list_select_related = ["location"]
    fields = readonly_fields = (
        "created_at",
        "method",
        "path",
        "status",
        "latency_ms",
        "attempt",
        "priority",
        "location",
        "rate_remaining",
        "daily_remaining",
        "error",
    )
    show_full_result_count = False  # the log is large; counting it all is slow


class StaffCallLogAdmin(StaffAdminMixin, CallLogAdmin):
    list_display = ["agency", *CallLogAdmin.list_display]
    list_filter = ["status", "method", "priority", "agency"]


class InboxAdmin(StaffAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin[InboundEvent]):
    list_display = ["received_at", "source", "event_type", "status", "attempts", "location_id"]
    list_filter = ["status", "source", "event_type"]
    search_fields = ["event_id", "company_id", "location_id"]
    date_hierarchy = "received_at"
    actions = ["replay"]
    fields = readonly_fields = (
        "source",
        "event_id",
        "event_type",
        "company_id",
        "location_id",
        "occurred_at",
        "received_at",
        "status",
        "attempts",
        "last_error",
        "processed_at",
        "signature_kind",
        "payload",
    )

    @admin.display(description=gettext_lazy("Body"))
    def payload(self, obj: InboundEvent) -> str:
        return format_html("<pre>{}</pre>", bytes(obj.body).decode(errors="replace")[:20000])

    @admin.action(description=gettext_lazy("Replay the selected events"))
    def replay(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        outcomes = [
            inbound_event_replay(event_pk=pk) for pk in queryset.values_list("pk", flat=True)
        ]
        done = sum(1 for outcome in outcomes if outcome == InboundEvent.Status.SUCCEEDED)
        self.message_user(
            request,
            ngettext(
                "Replayed %(outcomes_count)s event; %(done)s succeeded.",
                "Replayed %(outcomes_count)s events; %(done)s succeeded.",
                len(outcomes),
            )
            % {"outcomes_count": len(outcomes), "done": done},
        )


class AgencyInboxAdmin(ReadOnlyAdminMixin, AgencyScopedAdmin):
    """The agency's own GHL events: what failed, what was given up on (dead letters), and replay.
    Events name their GHL company and location, not our rows, so the scope is built from those."""

    list_display = ["received_at", "event_type", "status", "attempts", "location_id", "last_error"]
    list_filter = ["status", "event_type"]
    search_fields = ["event_id", "location_id"]
    date_hierarchy = "received_at"
    actions = ["replay"]
    fields = readonly_fields = (
        "event_id",
        "event_type",
        "location_id",
        "occurred_at",
        "received_at",
        "status",
        "attempts",
        "last_error",
        "processed_at",
    )

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        agency = agency_of(request)
        locations = Location.objects.for_agency(agency).exclude(ghl_location_id=None)
        scope = Q(location_id__in=locations.values("ghl_location_id"))
        if agency.ghl_company_id:
            scope |= Q(company_id=agency.ghl_company_id)
        return InboundEvent.objects.filter(scope)

    @admin.action(description=gettext_lazy("Replay the selected events"))
    def replay(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        InboxAdmin.replay(self, request, queryset)  # type: ignore[arg-type]
