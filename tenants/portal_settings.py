"""The business's settings in the workspace (/app/l/<id>/settings/): its name and time zone,
changed through the audited ``location_update`` service."""

from __future__ import annotations

import zoneinfo
from functools import cache

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from saas_platform.kernel.errors import ApplicationError

from .models import Location, User
from .portal import location_page
from .services import location_update
from .services.team import location_may_administer


@cache
def _zone_choices() -> list[tuple[str, str]]:
    return [(zone, zone.replace("_", " ")) for zone in sorted(zoneinfo.available_timezones())]


class LocationSettingsForm(forms.Form):
    name = forms.CharField(label=_("Business name"), max_length=200)
    timezone = forms.CharField(
        label=_("Time zone"),
        help_text=_("Reports, reminders and dates are shown in this time zone."),
        # A list to pick from; the value is still checked, as a posted form can send anything.
        widget=forms.Select(choices=_zone_choices()),
    )

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        if not name:
            raise forms.ValidationError(_("Enter the business's name."))
        return name

    def clean_timezone(self) -> str:
        zone = str(self.cleaned_data["timezone"]).strip()
        if zone not in zoneinfo.available_timezones():
            raise forms.ValidationError(
                _(
                    "“%(zone)s” is not a time zone we know. Choose one from the list, e.g. "
                    "Asia/Dubai."
                )
                % {"zone": zone}
            )
        return zone


@require_http_methods(["GET", "POST"])
@location_page(section="settings", access="admin")
def settings_page(request: HttpRequest, location: Location) -> HttpResponse:
    user = request.user
    may_edit = isinstance(user, User) and location_may_administer(user=user, location=location)
    form = LocationSettingsForm(initial={"name": location.name, "timezone": location.timezone})
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied(_("Only the business's administrators can change its settings."))
        form = LocationSettingsForm(request.POST)
        if form.is_valid():
            try:
                location_update(location=location, acting_user=user, data=form.cleaned_data)  # type: ignore[arg-type]
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Settings saved."))
                return redirect("portal:settings", location_id=location.pk)
    return render(
        request,
        "portal/settings/page.html",
        {"location": location, "form": form, "may_edit": may_edit},
    )
