"""Shared pieces of the report's hand-built SVG charts: sizes, escaping, text widths, axes.

Text widths are estimated from the characters (there are no font metrics here), generously,
so that labels are not clipped and the layout can keep them apart.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata

# Okabe-Ito palette: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
MAX_LABEL = 28  # class names longer than this are cut, with the full name as a tooltip
WIDTH = 960.0  # viewBox width: about the width of the report's main column, in CSS px
MARGIN = 24.0  # right margin, room for half of the last tick label
FONT = 13.0  # class labels, legend, axis titles
SMALL = 11.0  # value labels and tick labels
INK = "#1d2430"
MUTED = "#555555"
GRID = "#dddddd"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def svg_open(title: str, desc: str, height: float) -> list[str]:
    """The root element (scaled by the page, no ids) with its title and description."""
    return [
        f'<svg role="img" viewBox="0 0 {n(WIDTH)} {n(height)}" width="100%"'
        f' font-family="system-ui, sans-serif" font-size="{n(FONT)}" fill="{INK}">',
        f"<title>{esc(title)}</title><desc>{esc(desc)}</desc>",
    ]


def clean_name(name: object) -> str:
    """A class name as text: control characters become spaces."""
    return _CONTROL.sub(" ", str(name))


def truncate(name: str) -> str:
    return name if len(name) <= MAX_LABEL else name[: MAX_LABEL - 1] + "\u2026"


def finite(values: list[float | None]) -> tuple[float, ...]:
    """Null, NaN and infinite values become 0 (and -0.0 becomes 0.0)."""
    return tuple(v + 0.0 if v is not None and math.isfinite(v) else 0.0 for v in values)


def value_label(value: float) -> str:
    return f"{value:.4g}"


def tick_label(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:.6g}"


def clean(value: float) -> float:
    return round(value, 12) + 0.0  # no 0.30000000000000004, no -0.0


def text_width(text: str, size: float) -> float:
    """A generous estimate of the rendered width of ``text`` (no font metrics here).

    >>> text_width("ab", 10.0)
    12.4
    """
    units = 0.0
    for char in text:
        if unicodedata.east_asian_width(char) in "WF":
            units += 1.0
        elif char in "ijlI.,:;|!'` ()[]":
            units += 0.34
        elif char.isupper() or char in "mwMW@%&\u2026":
            units += 0.8
        else:
            units += 0.62
    return units * size


def linear_ticks(lo: float, hi: float, length: float) -> list[float]:
    """Round, evenly spaced ticks covering [lo, hi] whose labels fit in ``length`` px."""
    ticks = [lo, hi]
    for target in (6, 5, 4, 3, 2):
        step = nice_step((hi - lo) / target)
        first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
        ticks = [clean(i * step) for i in range(first, last + 1)]
        spacing = length / max(1, len(ticks) - 1)
        widest = max(text_width(tick_label(t), SMALL) for t in ticks)
        if widest + 8 <= spacing:
            break
    return ticks


def log_ticks(lo: float, hi: float, length: float) -> list[float]:
    """Powers of ten from ``lo`` to ``hi`` (both powers of ten), thinned until labels fit."""
    first, last = round(math.log10(lo)), round(math.log10(hi))
    for every in (1, 2, 3, 5, 10):
        ticks = [clean(10.0**e) for e in range(first, last + 1) if (e - first) % every == 0]
        spacing = length / max(1, len(ticks) - 1)
        if max(text_width(tick_label(t), SMALL) for t in ticks) + 8 <= spacing:
            return ticks
    return [clean(10.0**first), clean(10.0**last)]


def log_domain(values: list[float]) -> tuple[float, float]:
    """The powers of ten around the positive values (1 to 10 when there is none)."""
    positive = [v for v in values if v > 0]
    if not positive:
        return 1.0, 10.0
    lo = 10.0 ** math.floor(math.log10(min(positive)) - 1e-9)  # a bar even at a power of 10
    hi = 10.0 ** math.ceil(math.log10(max(positive)) - 1e-9)
    return lo, hi if hi > lo else lo * 10


def wants_log(values: list[float], threshold: float = 100.0) -> bool:
    """Whether the largest over the smallest positive value exceeds ``threshold``.

    >>> wants_log([0.0, 3.0, 900.0]), wants_log([1.0, 50.0])
    (True, False)
    """
    positive = [v for v in values if v > 0]
    return bool(positive) and max(positive) / min(positive) > threshold


def nice_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5, 5 (times a power of 10) that is at least ``raw``."""
    magnitude = 10.0 ** math.floor(math.log10(raw))
    return next(
        m * magnitude for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * magnitude >= raw * (1 - 1e-9)
    )


def legend(entries: list[tuple[str, str]], left: float) -> tuple[str, int]:
    """Swatch + name per entry, in rows from x = left; returns the SVG and the row count."""
    parts, x, row = [], left, 0
    for name, colour in entries:
        width = 17.0 + text_width(name, FONT) + 16.0
        if x > left and x + width > WIDTH - MARGIN:
            x, row = left, row + 1
        y = 8.0 + 18.0 * row
        parts.append(rect(x, y, 12.0, 12.0).replace("/>", f' fill="{colour}"/>'))
        parts.append(f'<text x="{n(x + 17)}" y="{n(y + 10.5)}">{esc(name)}</text>')
        x += width
    return f"<g>{''.join(parts)}</g>", row + 1 if entries else 0


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def n(value: float) -> str:
    """A coordinate rounded to 2 decimals, without trailing zeros.

    >>> n(1.005), n(-0.001), n(3.0)
    ('1', '0', '3')
    """
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def rect(x: float, y: float, width: float, height: float) -> str:
    return f'<rect x="{n(x)}" y="{n(y)}" width="{n(width)}" height="{n(height)}"/>'


def line(x1: float, y1: float, x2: float, y2: float) -> str:
    return f'<line x1="{n(x1)}" y1="{n(y1)}" x2="{n(x2)}" y2="{n(y2)}"/>'
