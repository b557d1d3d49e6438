"""Charts as inline SVG rendered on the server: no script, no CDN, readable in an e-mail client.

Every label is escaped; sizes are computed here so the templates only place the markup. Colours
come from the caller (the agency's brand).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

Number = int | float | Decimal


def _fmt(value: Number) -> str:
    if isinstance(value, Decimal | float):
        return f"{value:,.0f}"
    return f"{value:,}"


def column_chart(
    points: Sequence[tuple[str, Number]],
    *,
    colour: str,
    title: str,
    width: int = 640,
    height: int = 160,
) -> SafeString:
    """Vertical bars, one per point (days): the first and last labels shown under the axis."""
    if not points:
        return mark_safe("")
    top = max(float(v) for _, v in points) or 1.0
    plot = height - 24
    step = width / len(points)
    bar = max(step * 0.8, 1.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" class="report-chart">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(points):
        h = plot * float(value) / top
        x = i * step + (step - bar) / 2
        parts.append(
            f'<rect x="{x:.1f}" y="{plot - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
            f'fill="{escape(colour)}"><title>{escape(label)}: {_fmt(value)}</title></rect>'
        )
    parts.append(
        f'<line x1="0" y1="{plot}" x2="{width}" y2="{plot}" stroke="#999" stroke-width="1"/>'
    )
    first, last = points[0][0], points[-1][0]
    parts.append(f'<text x="0" y="{height - 6}" font-size="11">{escape(first)}</text>')
    parts.append(
        f'<text x="{width}" y="{height - 6}" font-size="11" text-anchor="end">{escape(last)}</text>'
    )
    parts.append(
        f'<text x="0" y="11" font-size="11" fill="#555">max {_fmt(max(v for _, v in points))}'
        "</text>"
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 — every interpolated text escaped above


def bar_chart(
    points: Sequence[tuple[str, Number]],
    *,
    colour: str,
    title: str,
    width: int = 640,
    limit: int = 12,
) -> SafeString:
    """Horizontal bars with their labels and values (sources, stages, agents), largest `limit`."""
    shown = list(points)[:limit]
    if not shown:
        return mark_safe("")
    row, label_w, value_w = 22, 180, 90
    height = row * len(shown) + 4
    top = max(float(v) for _, v in shown) or 1.0
    span = width - label_w - value_w
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" class="report-chart">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(shown):
        y = i * row + 2
        w = max(span * float(value) / top, 1.0 if value else 0.0)
        short = label if len(label) <= 26 else label[:25] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" font-size="12" text-anchor="end">'
            f"{escape(short)}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" '
            f'fill="{escape(colour)}"><title>{escape(label)}: {_fmt(value)}</title></rect>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" font-size="12">{_fmt(value)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 — every interpolated text escaped above
