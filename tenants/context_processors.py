from typing import Any

from django.conf import settings
from django.http import HttpRequest

from .theme import DEFAULTS, Theme


def branding(request: HttpRequest) -> dict[str, Any]:
    """`brand` and `theme` for templates: the agency's on its domains, neutral on the platform's."""
    agency = getattr(request, "agency", None)
    if agency is None:
        theme = Theme.from_colours(**DEFAULTS, font="system")
        return {"brand": None, "brand_name": settings.PLATFORM_NAME, "theme": theme}
    brand = agency.branding
    theme = Theme.from_colours(
        primary=brand.primary_color,
        accent=brand.accent_color,
        background=brand.background_color,
        font=brand.font,
    )
    return {"brand": brand, "brand_name": brand.display_name, "theme": theme}
