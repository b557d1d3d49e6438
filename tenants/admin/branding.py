"""The agency's branding editor: colour validation, the live preview and the contrast warning."""

from __future__ import annotations

from django import forms
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from .. import services
from ..models import Branding
from ..theme import FONT_STACKS, Theme, parse_hex, theme_of


class BrandingForm(forms.ModelForm[Branding]):
    """Colours are stored as lower-case `#rrggbb`, the form the theme and the e-mails expect."""

    class Meta:
        model = Branding
        fields = services.BRANDING_EDITABLE

    def _colour(self, name: str) -> str:
        try:
            return parse_hex(self.cleaned_data[name])
        except ValueError as error:
            raise forms.ValidationError(str(error)) from error

    def clean_primary_color(self) -> str:
        return self._colour("primary_color")

    def clean_accent_color(self) -> str:
        return self._colour("accent_color")

    def clean_background_color(self) -> str:
        return self._colour("background_color")


def branding_preview(branding: Branding) -> str:
    html = render_to_string(
        "admin/tenants/branding/preview.html",
        {"theme": theme_of(branding), "brand_name": branding.display_name, "fonts": FONT_STACKS},
    )
    # The admin turns newlines of a read-only value into <br>; the template is autoescaped.
    return mark_safe(" ".join(html.splitlines()))  # noqa: S308


def adjustments_message(theme: Theme) -> str:
    picks = "; ".join(
        f"{a.name} {a.original} ({a.original_ratio}:1) → {a.adjusted} ({a.adjusted_ratio}:1)"
        for a in theme.adjustments
    )
    return f"Adjusted for readable text on the background: {picks}."
