"""Small inline SVG bar charts: a section's percentage against its pass mark. Pure functions.

Inline SVG (not an <img>) so rendering fetches nothing; the markup holds only numbers we computed,
never supplier text, so it is safe to insert unescaped.
"""

from __future__ import annotations

# viewBox units; the CSS sizes the chart, keeping this 10:1 ratio.
_WIDTH = 200
_HEIGHT = 20
_BAR_TOP = 5
_BAR_HEIGHT = 10

MET = "#1d6b3a"
BELOW = "#b3261e"
NEUTRAL = "#4a5a6a"
TRACK = "#e3e7eb"
MARKER = "#111111"


def _check_percent(name: str, value: int) -> None:
    # bool is an int in Python, but True is not a percentage.
    if isinstance(value, bool) or not 0 <= value <= 100:
        raise ValueError(f"expected {name} as a whole number 0..100, got {value!r}")


def bar_chart_svg(percent: int, threshold: int | None = None, *, css_class: str = "bar") -> str:
    """An inline ``<svg>`` bar for ``percent`` with a marker at ``threshold`` (if any)."""
    _check_percent("percent", percent)
    if threshold is None:
        colour = NEUTRAL
    else:
        _check_percent("threshold", threshold)
        colour = MET if percent >= threshold else BELOW
    fill = _WIDTH * percent // 100
    parts = [
        f'<svg class="{css_class}" viewBox="0 0 {_WIDTH} {_HEIGHT}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<rect x="0" y="{_BAR_TOP}" width="{_WIDTH}" height="{_BAR_HEIGHT}" rx="2" '
        f'fill="{TRACK}"/>',
    ]
    if fill:
        parts.append(
            f'<rect x="0" y="{_BAR_TOP}" width="{fill}" height="{_BAR_HEIGHT}" rx="2" '
            f'fill="{colour}"/>'
        )
    if threshold is not None:
        # Keep the 2-unit marker inside the viewBox at 0 % and 100 %.
        x = min(max(_WIDTH * threshold // 100, 1), _WIDTH - 1)
        parts.append(f'<rect x="{x - 1}" y="0" width="2" height="{_HEIGHT}" fill="{MARKER}"/>')
    parts.append("</svg>")
    return "".join(parts)
