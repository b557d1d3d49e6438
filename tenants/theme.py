"""Colours for a brand: readable foregrounds derived from whatever an agency picks (WCAG 2.x
relative luminance and contrast ratio), so text stays AA readable without vetting each pick."""

import colorsys
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Branding

BLACK = "#111111"
WHITE = "#ffffff"
PURE_BLACK = "#000000"
AA_NORMAL = 4.5  # WCAG 2.x AA for normal-size text

HEX_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


def parse_hex(value: str) -> str:
    """`#rrggbb` in lower case; anything else is refused with a message fit for a form."""
    candidate = value.strip() if isinstance(value, str) else ""
    if not HEX_RE.match(candidate):
        raise ValueError(f"{value!r} is not a colour like #1f6feb.")
    return candidate.lower()


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def _hex(r: float, g: float, b: float) -> str:
    return "#" + "".join(f"{round(max(0.0, min(1.0, c)) * 255):02x}" for c in (r, g, b))


def _lightness(hex_colour: str) -> float:
    return colorsys.rgb_to_hls(*(c / 255 for c in _rgb(hex_colour)))[1]


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(hex_colour: str) -> float:
    r, g, b = _rgb(hex_colour)
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_on(background: str, *, target: float = AA_NORMAL) -> str:
    """Text colour for `background` reaching `target`: our soft black or white, whichever reads
    better — or, for mid-luminance colours where neither reaches 4.5:1, pure black, which always
    does (≥ 4.58:1)."""
    choice = BLACK if contrast(BLACK, background) >= contrast(WHITE, background) else WHITE
    if contrast(choice, background) >= target:
        return choice
    return PURE_BLACK if contrast(PURE_BLACK, background) >= contrast(WHITE, background) else WHITE


def _towards(colour: str, against: str, *, lighter: bool, target: float) -> str | None:
    """The shade of `colour` (same hue and saturation) nearest in lightness that reaches `target`
    against `against`, moving only lighter or only darker; None when even the end can't."""
    h, lightness, s = colorsys.rgb_to_hls(*(c / 255 for c in _rgb(colour)))

    def shade(level: float) -> str:
        return _hex(*colorsys.hls_to_rgb(h, level, s))

    end = 1.0 if lighter else 0.0
    if contrast(shade(end), against) < target:
        return None
    # Luminance is monotone in HLS lightness, so bisect; `good` always holds a passing shade
    # (checked on the rounded hex, so rounding can't slip below the target).
    good, bad = end, lightness
    for _ in range(24):
        middle = (good + bad) / 2
        if contrast(shade(middle), against) >= target:
            good = middle
        else:
            bad = middle
    return shade(good)


def reach_contrast(colour: str, against: str, *, target: float = AA_NORMAL) -> str:
    """`colour` itself if it already reads on `against`, else the least-moved shade that does."""
    if contrast(colour, against) >= target:
        return colour
    lightness = _lightness(colour)
    options = [
        shade
        for shade in (
            _towards(colour, against, lighter=False, target=target),
            _towards(colour, against, lighter=True, target=target),
        )
        if shade is not None
    ]
    if not options:  # cannot happen for target ≤ 4.58 (black or white always reaches it)
        return readable_on(against, target=target)

    return min(options, key=lambda shade: abs(_lightness(shade) - lightness))


@dataclass(frozen=True)
class Adjustment:
    """A brand colour that had to change to be readable as text on the page background."""

    name: str
    original: str
    adjusted: str
    original_ratio: float
    adjusted_ratio: float


FONT_STACKS = {
    "system": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    "inter": "Inter, system-ui, sans-serif",
    "serif": "Georgia, 'Times New Roman', serif",
    "rounded": "ui-rounded, 'SF Pro Rounded', system-ui, sans-serif",
    "mono": "ui-monospace, 'SFMono-Regular', Menlo, monospace",
}

DEFAULTS = {"primary": "#334155", "accent": "#0ea5e9", "background": "#ffffff"}


def _valid_or(value: str, fallback: str) -> str:
    # A row written before validation existed must not take the portal down.
    try:
        return parse_hex(value)
    except ValueError:
        return fallback


@dataclass(frozen=True)
class Theme:
    primary: str
    on_primary: str
    accent: str
    on_accent: str
    background: str
    text: str
    font_stack: str
    link: str  # the primary colour as text on the background
    accent_text: str  # the accent colour as text on the background
    adjustments: tuple[Adjustment, ...] = field(default=())

    @classmethod
    def from_colours(cls, *, primary: str, accent: str, background: str, font: str) -> "Theme":
        primary = _valid_or(primary, DEFAULTS["primary"])
        accent = _valid_or(accent, DEFAULTS["accent"])
        background = _valid_or(background, DEFAULTS["background"])
        adjustments = []
        as_text = {}
        for name, colour in (("Primary colour", primary), ("Accent colour", accent)):
            readable = reach_contrast(colour, background)
            as_text[name] = readable
            if readable != colour:
                adjustments.append(
                    Adjustment(
                        name=name,
                        original=colour,
                        adjusted=readable,
                        original_ratio=round(contrast(colour, background), 2),
                        adjusted_ratio=round(contrast(readable, background), 2),
                    )
                )
        return cls(
            primary=primary,
            on_primary=readable_on(primary),
            accent=accent,
            on_accent=readable_on(accent),
            background=background,
            text=readable_on(background),
            font_stack=FONT_STACKS.get(font, FONT_STACKS["system"]),
            link=as_text["Primary colour"],
            accent_text=as_text["Accent colour"],
            adjustments=tuple(adjustments),
        )


def theme_of(branding: "Branding") -> Theme:
    return Theme.from_colours(
        primary=branding.primary_color,
        accent=branding.accent_color,
        background=branding.background_color,
        font=branding.font,
    )
