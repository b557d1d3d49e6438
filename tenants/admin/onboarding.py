"""Agency admin pages for joining the portal: invite someone to a location, and decide the
location requests left by self-sign-up. Both go through the services."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from saas_platform.kernel.errors import ApplicationError

from .. import services
from ..models import Invitation, Location, LocationRequest, Membership
from ..request import actor
from .agency import ServiceSaveMixin
from .scoping import AgencyScopedAdmin, ReadOnlyAdminMixin, agency_of, can_change


class InvitationForm(forms.ModelForm[Invitation]):
    role = forms.ChoiceField(
        choices=[
            (Membership.Role.CLIENT_ADMIN, "Client admin"),
            (Membership.Role.CLIENT_MEMBER, "Client member"),
        ]
    )

    class Meta:
        model = Invitation
        fields = ("location", "email", "role")


class AgencyInvitationAdmin(ServiceSaveMixin, AgencyScopedAdmin):
    list_display = ("email", "location", "role", "invited_by", "expires_at", "accepted_at")
    list_filter = ("role",)
    search_fields = ("email",)
    list_select_related = ("location", "invited_by")
    readonly_fields = (
        "location",
        "email",
        "role",
        "invited_by",
        "expires_at",
        "accepted_at",
        "accepted_by",
    )

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = InvitationForm
            form = super().get_form(request, obj, change=change, **kwargs)
            location_field = cast(forms.ModelChoiceField[Location], form.base_fields["location"])
            location_field.queryset = Location.objects.for_agency(agency_of(request))
            return form
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj else ("location", "email", "role")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj else ()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # an invitation is sent as it is; invite again to change it

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Invitation, form: Any, change: bool) -> None:
        created = services.invitation_create(
            location=form.cleaned_data["location"],
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            acting_user=actor(request),
        )
        obj.pk = created.pk


class AgencyLocationRequestAdmin(ReadOnlyAdminMixin, AgencyScopedAdmin):
    list_display = ("business_name", "requested_by", "status", "created_at", "location")
    list_filter = ("status",)
    search_fields = ("business_name", "requested_by__email")
    list_select_related = ("requested_by", "location")
    fields = ("business_name", "requested_by", "status", "location", "decided_by", "decided_at")
    readonly_fields = fields
    actions = ("approve", "decline")

    @admin.action(
        description=gettext_lazy("Approve: create the location, requester becomes its client admin")
    )
    def approve(self, request: HttpRequest, queryset: QuerySet[LocationRequest]) -> None:
        self._decide(request, queryset, services.location_request_approve, "approved")

    @admin.action(description=gettext_lazy("Decline"))
    def decline(self, request: HttpRequest, queryset: QuerySet[LocationRequest]) -> None:
        self._decide(request, queryset, services.location_request_decline, "declined")

    def _decide(
        self, request: HttpRequest, queryset: QuerySet[LocationRequest], decide: Any, verb: str
    ) -> None:
        done = 0
        for location_request in queryset:
            try:
                decide(request=location_request, acting_user=actor(request))
                done += 1
            except ApplicationError as error:
                self.refuse(request, error)
        if done:
            self.message_user(
                request,
                _("%(done)s request(s) %(verb)s.") % {"done": done, "verb": verb},
                level=messages.SUCCESS,
            )

    def get_actions(self, request: HttpRequest) -> Any:
        # ReadOnlyAdminMixin hides change rights; the decisions are for owners and admins.
        actions = super().get_actions(request)
        return actions if can_change(request) else {}
