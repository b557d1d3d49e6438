"""The colour maths behind theming: WCAG 2.x ratios, and derived palettes that always read."""

import colorsys
import random

import pytest

from tenants.mail import brand_context
from tenants.models import Branding
from tenants.theme import (
    AA_NORMAL,
    Theme,
    contrast,
    luminance,
    parse_hex,
    reach_contrast,
    readable_on,
)
from tests.conftest import World


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("#000000", "#ffffff", 21.0),
        ("#ffffff", "#ffffff", 1.0),
        ("#777777", "#ffffff", 4.48),
        ("#767676", "#ffffff", 4.54),
        ("#0000ff", "#ffffff", 8.59),
        ("#ff0000", "#ffffff", 4.0),
    ],
)
def test_contrast_matches_known_wcag_ratios(a: str, b: str, expected: float) -> None:
    assert contrast(a, b) == pytest.approx(expected, abs=0.01)
    assert contrast(b, a) == pytest.approx(expected, abs=0.01)


def test_luminance_ends() -> None:
    assert luminance("#000000") == 0
    assert luminance("#ffffff") == pytest.approx(1)


@pytest.mark.parametrize("good", ["#1F6FEB", " #1f6feb "])
def test_parse_hex_normalises(good: str) -> None:
    assert parse_hex(good) == "#1f6feb"


@pytest.mark.parametrize("bad", ["", "1f6feb", "#1f6fe", "#1f6febb", "#12345g", "red", "#fff"])
def test_parse_hex_refuses_anything_else(bad: str) -> None:
    with pytest.raises(ValueError, match="not a colour"):
        parse_hex(bad)


def test_a_readable_colour_is_kept() -> None:
    assert reach_contrast("#1f3a93", "#ffffff") == "#1f3a93"


def test_a_pale_colour_is_darkened_keeping_its_hue_by_the_least_needed() -> None:
    adjusted = reach_contrast("#f59e0b", "#ffffff")
    assert contrast(adjusted, "#ffffff") >= AA_NORMAL
    # Only just past the line: the least lightness move, not a jump to black.
    assert contrast(adjusted, "#ffffff") < AA_NORMAL + 0.2
    hue_before = colorsys.rgb_to_hls(0xF5 / 255, 0x9E / 255, 0x0B / 255)[0]
    r, g, b = (int(adjusted[i : i + 2], 16) / 255 for i in (1, 3, 5))
    assert colorsys.rgb_to_hls(r, g, b)[0] == pytest.approx(hue_before, abs=0.01)


def test_a_dark_colour_on_a_dark_background_is_lightened() -> None:
    adjusted = reach_contrast("#1f3a93", "#101010")
    assert contrast(adjusted, "#101010") >= AA_NORMAL
    assert luminance(adjusted) > luminance("#1f3a93")


def test_text_reaches_aa_even_where_soft_black_and_white_both_miss() -> None:
    # Luminance ≈ 0.19: neither #111111 nor white reaches 4.5:1 on it.
    assert contrast("#111111", "#808080") < AA_NORMAL or contrast("#ffffff", "#808080") < AA_NORMAL
    for grey in ("#777777", "#7a7a7a", "#808080"):
        assert contrast(readable_on(grey), grey) >= AA_NORMAL


def test_theme_reports_each_adjusted_colour() -> None:
    theme = Theme.from_colours(
        primary="#123456", accent="#f59e0b", background="#ffffff", font="serif"
    )
    assert theme.link == "#123456"
    assert [a.name for a in theme.adjustments] == ["Accent colour"]
    (adjustment,) = theme.adjustments
    assert adjustment.original == "#f59e0b" and adjustment.adjusted == theme.accent_text
    assert adjustment.original_ratio == pytest.approx(2.15, abs=0.01)
    assert adjustment.adjusted_ratio >= AA_NORMAL
    assert theme.font_stack.startswith("Georgia")


def test_theme_falls_back_on_unknown_font_and_stored_garbage() -> None:
    theme = Theme.from_colours(primary="nope", accent="#0ea5e9", background="#fff", font="comic")
    assert theme.primary == "#334155" and theme.background == "#ffffff"
    assert theme.font_stack.startswith("system-ui")


def test_derived_palette_is_always_aa_for_random_picks() -> None:
    rng = random.Random(9)
    for _ in range(200):
        primary, accent, background = (f"#{rng.randrange(0x1000000):06x}" for _ in range(3))
        theme = Theme.from_colours(
            primary=primary, accent=accent, background=background, font="system"
        )
        pairs = [
            (theme.on_primary, theme.primary),
            (theme.on_accent, theme.accent),
            (theme.text, theme.background),
            (theme.link, theme.background),
            (theme.accent_text, theme.background),
        ]
        for fg, bg in pairs:
            assert contrast(fg, bg) >= AA_NORMAL, (primary, accent, background, fg, bg)


@pytest.mark.django_db
def test_branded_emails_keep_text_readable_on_a_mid_tone_brand(world: World) -> None:
    Branding.objects.for_agency(world.a.agency).update(
        primary_color="#808080", accent_color="#7a7a7a"
    )
    brand = brand_context(world.a.agency)  # what every branded e-mail renders with
    assert contrast(brand["on_primary"], "#808080") >= AA_NORMAL
    assert contrast(brand["on_accent"], "#7a7a7a") >= AA_NORMAL
