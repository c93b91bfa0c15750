"""A small bar chart as inline SVG, drawn on the server (no script): alerts per day.

    bars_svg([0, 2, 5, ...], ["2026-11-01", ...], "alerts per day, rfa-ko")

Each bar carries a ``<title>`` (a tooltip, read by screen readers), the whole an
``aria-label``; the SVG scales to its container's width (``viewBox``, no fixed width).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

BAR_W = 6
GAP = 2
HEIGHT = 32


def bars_svg(
    values: Sequence[int], labels: Sequence[str], title: str, *, height: int = HEIGHT
) -> Markup:
    """One bar per value, scaled to the largest; an empty day is a thin baseline mark."""
    top = max(values, default=0) or 1
    width = len(values) * (BAR_W + GAP)
    total = sum(values)
    parts = [
        f'<svg class="bars" viewBox="0 0 {width} {height}" preserveAspectRatio="none"'
        f' role="img" aria-label="{escape(title)}: {total} in {len(values)} days">'
    ]
    for i, (value, label) in enumerate(zip(values, labels, strict=True)):
        h = max(1, round(value / top * (height - 2))) if value else 1
        cls = "bar" if value else "bar none"
        parts.append(
            f'<rect class="{cls}" x="{i * (BAR_W + GAP)}" y="{height - h}" width="{BAR_W}"'
            f' height="{h}"><title>{escape(label)}: {value}</title></rect>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
