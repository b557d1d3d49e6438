"""Admin screens of the external contact syncs: connections (set up, check, sync now, resume),
their runs with live progress, the conflicts waiting for a person, and the overwrite log."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy, ngettext
from django.utils.translation import gettext_lazy as _

from saas_platform.kernel.errors import ApplicationError
from tenants.admin.scoping import (
    AgencyRelatedFilter,
    AgencyScopedAdmin,
    ReadOnlyAdminMixin,
    StaffAdminMixin,
    can_change,
)
from tenants.request import actor

from .connectors import kinds  # noqa: F401 — the kinds offered in the form
from .connectors import services as connectors
from .connectors.base import ConnectorError, connector_class, connector_kinds
from .connectors.fields import parse_mapping
from .connectors.models import ExternalConnection, ExternalSyncRun, SyncConflict
from .connectors.setup import conflict_settle, connection_pause

REFRESH_SECONDS = 3


class JSONText(forms.CharField):
    """A JSON object or list typed as text, with a clear message when it does not parse."""

    def __init__(self, *, shape: type, **kwargs: Any) -> None:
        self.shape = shape
        super().__init__(widget=forms.Textarea(attrs={"rows": 6, "cols": 80}), **kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dict | list):
            return json.dumps(value, indent=2, ensure_ascii=False)
        return value

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if not text:
            return self.shape()
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(_("Not valid JSON: %(exc)s") % {"exc": exc}) from exc
        if not isinstance(parsed, self.shape):
            raise forms.ValidationError(
                _("Expected a JSON %(__name__)s.") % {"__name__": self.shape.__name__}
            )
        return parsed


class ConnectionForm(forms.ModelForm[ExternalConnection]):
    kind = forms.ChoiceField(choices=())
    config = JSONText(shape=dict, required=False, help_text=_("Settings of the kind, as JSON."))
    mapping = JSONText(
        shape=list,
        help_text=_(
            '[{"ghl": "email", "external": "Email", "policy": "newest"}, …] — policies: '
            "ghl, external, newest, ask."
        ),
    )
    # Write-only: the stored secrets are never shown back; left empty, they are kept.
    new_credentials = JSONText(
        shape=dict,
        required=False,
        label=_("Credentials"),
        help_text=_(
            "JSON; stored encrypted and never shown again. Leave empty to keep the saved ones."
        ),
    )

    class Meta:
        model = ExternalConnection
        fields = ("location", "name", "kind", "config", "mapping", "direction", "match_on",
                  "interval_minutes")  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind = self.fields["kind"]
        assert isinstance(kind, forms.ChoiceField)  # noqa: S101 — declared just above
        kind.choices = connector_kinds()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, config, mapping = data.get("kind"), data.get("config") or {}, data.get("mapping")
        credentials = data.get("new_credentials") or (
            self.instance.secrets if self.instance.pk else {}
        )
        if kind and mapping is not None:
            try:
                connector_class(kind).validate(config, credentials)
                parse_mapping(mapping)
            except ConnectorError as exc:
                raise forms.ValidationError(exc.message) from exc
        data["credentials"] = credentials
        return data


class ExternalConnectionAdmin(AgencyScopedAdmin):
    agency_path = "location__agency"
    form = ConnectionForm
    list_display = ["name", "location", "kind", "status", "last_run_at", "next_run_at", "problem"]
    list_filter = ["status", "kind", ("location", AgencyRelatedFilter)]
    list_select_related = ["location"]
    search_fields = ["name"]
    readonly_fields = ["status", "consecutive_failures", "last_error", "last_run_at", "next_run_at"]
    actions = ["check_connection", "sync_now", "resume", "disable"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        editable = ["location", "name", "kind", "config", "new_credentials", "mapping"]
        return [*editable, "direction", "match_on", "interval_minutes", *self.readonly_fields]

    @admin.display(description=gettext_lazy("Last error"))
    def problem(self, obj: ExternalConnection) -> str:
        return obj.last_error[:120]

    def save_model(
        self, request: HttpRequest, obj: ExternalConnection, form: Any, change: bool
    ) -> None:
        obj.secrets = connector_class(obj.kind).prepare_credentials(
            form.cleaned_data["credentials"]
        )
        if not change:
            obj.owner = actor(request)
        super().save_model(request, obj, form, change)

    def _each(self, request: HttpRequest, queryset: models.QuerySet[Any], action: Any) -> None:
        done = 0
        for connection in queryset.select_related("location__agency"):
            try:
                action(connection)
                done += 1
            except ApplicationError as error:
                self.message_user(
                    request,
                    _("%(connection)s: %(message)s")
                    % {"connection": connection, "message": error.message},
                    messages.ERROR,
                )
        if done:
            self.message_user(
                request,
                ngettext("Done for %(done)s connection.", "Done for %(done)s connections.", done)
                % {"done": done},
                messages.SUCCESS,
            )

    @admin.action(description=gettext_lazy("Check the connection (credentials, target, fields)"))
    def check_connection(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        self._each(request, queryset, lambda c: connectors.connection_check(connection=c))

    @admin.action(description=gettext_lazy("Sync now"))
    def sync_now(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        self._each(request, queryset, lambda c: connectors.connection_sync_now(connection=c))

    @admin.action(description=gettext_lazy("Resume (after fixing what paused it)"))
    def resume(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        who = actor(request)
        self._each(
            request, queryset, lambda c: connectors.connection_resume(connection=c, acting_user=who)
        )

    @admin.action(description=gettext_lazy("Disable"))
    def disable(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        who = actor(request)
        self._each(request, queryset, lambda c: connection_pause(connection=c, acting_user=who))


class ExternalSyncRunAdmin(ReadOnlyAdminMixin, AgencyScopedAdmin):
    agency_path = "location__agency"
    list_display = ["started_at", "connection", "trigger", "status", "progress", "pulled",
                    "to_ghl", "to_external", "created_in_ghl", "created_external", "conflicts",
                    "error"]  # fmt: skip
    list_filter = ["status", "trigger", ("location", AgencyRelatedFilter)]
    list_select_related = ["connection"]
    fields = readonly_fields = ("connection", "trigger", "status", "phase", "progress", "pulled",
                                "to_ghl", "to_external", "created_in_ghl", "created_external",
                                "deleted_external", "conflicts", "started_at", "finished_at",
                                "error")  # fmt: skip

    @admin.display(description=gettext_lazy("Progress"))
    def progress(self, obj: ExternalSyncRun) -> str:
        return format_html(
            '<progress max="100" value="{}" aria-label="{}%">{}%</progress> {} {}%',
            obj.percent,
            obj.percent,
            obj.percent,
            obj.phase,
            obj.percent,
        )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        running = self.get_queryset(request).filter(status=ExternalSyncRun.Status.RUNNING)
        context = {
            **(extra_context or {}),
            "refresh_seconds": REFRESH_SECONDS if running.exists() else None,
        }
        return super().changelist_view(request, context)


class SyncConflictAdmin(AgencyScopedAdmin):
    agency_path = "location__agency"
    list_display = ["created_at", "connection", "contact", "field", "ghl_value", "external_value",
                    "status", "resolution"]  # fmt: skip
    list_filter = ["status", ("location", AgencyRelatedFilter)]
    list_select_related = ["connection", "link"]
    fields = readonly_fields = ("connection", "contact", "field", "ghl_value", "external_value",
                                "status", "resolution", "resolved_by", "resolved_at")  # fmt: skip
    actions = ["keep_ghl", "keep_external"]

    @admin.display(description=gettext_lazy("Contact (GHL id)"))
    def contact(self, obj: SyncConflict) -> str:
        return obj.link.ghl_id

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def _resolve(self, request: HttpRequest, queryset: models.QuerySet[Any], choose: str) -> None:
        if not can_change(request):
            return
        done = 0
        for conflict in queryset.filter(status=SyncConflict.Status.OPEN):
            try:
                conflict_settle(conflict=conflict, choose=choose, acting_user=actor(request))
                done += 1
            except ApplicationError as error:
                self.refuse(request, error)
        self.message_user(
            request,
            ngettext(
                "%(done)s conflict settled; the next run writes them.",
                "%(done)s conflicts settled; the next run writes them.",
                done,
            )
            % {"done": done},
            messages.SUCCESS,
        )

    @admin.action(description=gettext_lazy("Keep the GHL value"))
    def keep_ghl(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        self._resolve(request, queryset, "ghl")

    @admin.action(description=gettext_lazy("Keep the external value"))
    def keep_external(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        self._resolve(request, queryset, "external")


class FieldOverwriteAdmin(ReadOnlyAdminMixin, AgencyScopedAdmin):
    agency_path = "location__agency"
    list_display = ["at", "connection", "ghl_id", "external_key", "field", "old", "new", "side",
                    "reason"]  # fmt: skip
    list_filter = ["side", ("location", AgencyRelatedFilter)]
    list_select_related = ["connection"]
    search_fields = ["ghl_id", "external_key", "field"]
    show_full_result_count = False
    fields = readonly_fields = ("connection", "run", "ghl_id", "external_key", "field", "old",
                                "new", "side", "reason", "at")  # fmt: skip


class StaffExternalConnectionAdmin(StaffAdminMixin, ReadOnlyAdminMixin, ExternalConnectionAdmin):
    list_filter = ["status", "kind"]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}  # operators look; the agency acts

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["location", "name", "kind", "config", "mapping", "direction", "match_on",
                "interval_minutes", *self.readonly_fields]  # fmt: skip


class StaffExternalSyncRunAdmin(StaffAdminMixin, ExternalSyncRunAdmin):
    list_filter = ["status", "trigger"]
