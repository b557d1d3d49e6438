"""The "new API key" form shared by the agency admin and the portal's API keys page."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from ..models import Location
from .models import API_RESOURCES

RESOURCE_LABELS = {
    "locations": "Locations",
    "contacts": "Contacts",
    "audit_log": "Audit log",
    "pipelines": "Pipelines",
    "opportunities": "Opportunities",
    "appointments": "Appointments",
    "routing": "Lead routing",
    "sync": "Sync connections",
    "reports": "Reports",
    "plans": "Plans",
    "subscriptions": "Subscriptions",
}
SCOPE_CHOICES = [
    (f"{resource}:{access}", f"{RESOURCE_LABELS[resource]}: {verb}")
    for resource in API_RESOURCES
    for access, verb in (("read", "read"), ("write", "read and write"))
]
EXPIRY_CHOICES = [("", "Never"), ("30", "In 30 days"), ("90", "In 90 days"), ("365", "In a year")]


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="Who or what uses it, e.g. “Website forms” or “Zapier”."
    )
    scopes = forms.MultipleChoiceField(
        label="Permissions",
        choices=SCOPE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one permission."},
    )
    expires_in = forms.ChoiceField(label="Expires", choices=EXPIRY_CHOICES, required=False)

    def __init__(
        self, *args: Any, locations: QuerySet[Location] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if locations is None:
            # A location's own key: the agency-wide resources are not offered.
            field = cast(forms.MultipleChoiceField, self.fields["scopes"])
            field.choices = [c for c in SCOPE_CHOICES if not c[0].startswith("locations:")]
        else:
            self.fields["location"] = forms.ModelChoiceField(
                queryset=locations,
                required=False,
                empty_label="The whole agency",
                help_text="Limit the key to one client location.",
            )
            self.fields["rate_limit_per_minute"] = forms.IntegerField(
                label="Requests a minute",
                min_value=1,
                max_value=100_000,
                initial=600,
                help_text="More are refused (429) until the minute has passed.",
            )

    def expires_at(self) -> datetime | None:
        days = self.cleaned_data.get("expires_in")
        return timezone.now() + timedelta(days=int(days)) if days else None
