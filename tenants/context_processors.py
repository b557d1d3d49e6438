from typing import Any

from django.conf import settings
from django.http import HttpRequest

from .theme import DEFAULTS, Theme, theme_of


def branding(request: HttpRequest) -> dict[str, Any]:
    """`brand` and `theme` for templates: the agency's on its domains, neutral on the platform's."""
    agency = getattr(request, "agency", None)
    if agency is None:
        theme = Theme.from_colours(**DEFAULTS, font="system")
        return {"brand": None, "brand_name": settings.PLATFORM_NAME, "theme": theme}
    brand = agency.branding
    return {"brand": brand, "brand_name": brand.display_name, "theme": theme_of(brand)}
