"""Colours for a brand: readable foregrounds derived from whatever an agency picks (WCAG 2.x
relative luminance and contrast ratio)."""

from dataclasses import dataclass

BLACK = "#111111"
WHITE = "#ffffff"


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(hex_colour: str) -> float:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_on(background: str) -> str:
    """Black or white, whichever reads better on `background`."""
    return BLACK if contrast(BLACK, background) >= contrast(WHITE, background) else WHITE


FONT_STACKS = {
    "system": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    "inter": "Inter, system-ui, sans-serif",
    "serif": "Georgia, 'Times New Roman', serif",
    "rounded": "ui-rounded, 'SF Pro Rounded', system-ui, sans-serif",
    "mono": "ui-monospace, 'SFMono-Regular', Menlo, monospace",
}


@dataclass(frozen=True)
class Theme:
    primary: str
    on_primary: str
    accent: str
    on_accent: str
    background: str
    text: str
    font_stack: str

    @classmethod
    def from_colours(cls, *, primary: str, accent: str, background: str, font: str) -> "Theme":
        return cls(
            primary=primary,
            on_primary=readable_on(primary),
            accent=accent,
            on_accent=readable_on(accent),
            background=background,
            text=readable_on(background),
            font_stack=FONT_STACKS.get(font, FONT_STACKS["system"]),
        )
