"""Charts of the imbalance report, as inline SVG text built by hand (no plotting library).

Both charts are grouped horizontal bars with one row per class, the first class on top as in
the tables: the class counts, and the loss weights per scheme next to the logit-adjustment
offsets. The SVG is plain string building, so drawing takes milliseconds and needs nothing
beyond the standard library:

- every user string (class names) is XML-escaped, control characters become spaces;
- there are no ids and coordinates are rounded to 2 decimals, so the same stats always give
  byte-identical SVG and several charts can sit in one HTML page;
- text is real ``<text>`` in a sans-serif font; the root has ``role="img"``, a ``<title>``
  and a ``<desc>``, a ``viewBox`` and ``width="100%"`` so that the page scales it.

Null, NaN and infinite values are drawn as 0. Text widths are estimated from the characters
(there is no font metrics here), generously, so that labels are not clipped.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from labelprep.weights import LOSS_WEIGHT_SCHEMES

# Okabe-Ito palette: distinguishable with the common colour-vision deficiencies.
_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
_MAX_LABEL = 28
_ANNOTATE_UP_TO = 12  # value labels at the end of the bars up to this many classes

_WIDTH = 960.0  # viewBox width: about the width of the report's main column, in CSS px
_MARGIN = 24.0  # right margin, room for half of the last tick label
_GAP = 56.0  # between the weights panel and the offsets panel
_FONT = 13.0  # class labels, legend, axis titles
_SMALL = 11.0  # value labels and tick labels
_INK = "#1d2430"
_MUTED = "#555555"
_GRID = "#dddddd"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class _Series:
    name: str  # column name, kept as the data-series attribute of the bars' group
    colour: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class _Panel:
    series: tuple[_Series, ...]
    axis_title: str
    annotate: bool = False  # value label at the end of each bar
    reference: float | None = None  # x of a dotted vertical line
    ratio: float = 1.0  # share of the plotting width
    fill: float = 0.8  # share of a class row the bars of a group fill
    empty: tuple[float, float] = (0.0, 1.0)  # the x range when every value is 0


@dataclass(frozen=True)
class _Rows:
    top: float  # y of the first class row
    band: float  # height of a class row
    bottom: float  # y of the x axis


def render_charts(stats: pl.DataFrame) -> dict[str, str]:
    """Draw the report charts from the "all rows" block of the weighted class stats.

    Parameters
    ----------
    stats
        Class statistics with ``class``, the counts and the weight columns; rows whose
        ``split`` is not null are ignored. Rows are drawn in ``index`` order when there is
        one, as in the report's tables.

    Returns
    -------
    dict
        Chart title -> ``<svg>`` element text; a chart whose columns are all missing is left
        out, and there is no chart at all without classes.

    Examples
    --------
    >>> stats = pl.DataFrame({"class": ["a", "b"], "soft_mass": [1.5, 0.5],
    ...                       "support": [2, 1], "hard_count": [2, 0]})
    >>> list(render_charts(stats))
    ['Class counts']
    >>> render_charts(stats)["Class counts"][:17]
    '<svg role="img" v'
    """
    block = stats.filter(pl.col("split").is_null()) if "split" in stats.columns else stats
    if block.is_empty() or "class" not in block.columns:
        return {}
    if "index" in block.columns:
        block = block.sort("index")
    charts: dict[str, str] = {}
    counts = [c for c in ("soft_mass", "support", "hard_count") if c in block.columns]
    if counts:
        charts["Class counts"] = counts_chart(block, counts)
    schemes = [c for c in LOSS_WEIGHT_SCHEMES if c in block.columns]
    if schemes:
        charts["Class weights by scheme"] = weights_chart(block, schemes)
    return charts


def counts_chart(block: pl.DataFrame, columns: Sequence[str]) -> str:
    """Grouped horizontal bars of the given count columns per class, as SVG text.

    Each bar ends with its value (``f"{v:.4g}"``) when there are at most 12 classes.

    Examples
    --------
    >>> block = pl.DataFrame({"class": ["a", "b"], "soft_mass": [3.0, 1.0]})
    >>> svg = counts_chart(block, ["soft_mass"])
    >>> ">soft mass</text>" in svg and ">3</text>" in svg and svg.endswith("</svg>")
    True
    """
    series = tuple(
        _Series(c, _PALETTE[i % len(_PALETTE)], _values(block, c)) for i, c in enumerate(columns)
    )
    panel = _Panel(series, "items", annotate=block.height <= _ANNOTATE_UP_TO)
    legend = [(c.replace("_", " "), s.colour) for c, s in zip(columns, series, strict=True)]
    desc = f"Horizontal bars per class: {', '.join(name for name, _ in legend)}."
    return _chart("Class counts", desc, _names(block), legend, [panel])


def weights_chart(block: pl.DataFrame, schemes: Sequence[str]) -> str:
    """Loss weights per class and scheme, next to the logit-adjustment offsets, as SVG.

    The weights panel has a dotted line at 1 (unweighted); the offsets panel, drawn when
    there is a ``logit_adjustment`` column, shows the offsets as bars around a zero line.

    Examples
    --------
    >>> block = pl.DataFrame({"class": ["a", "b"], "balanced": [0.5, 1.5],
    ...                       "logit_adjustment": [-0.3, -1.4]})
    >>> svg = weights_chart(block, ["balanced"])
    >>> 'stroke-dasharray="2 3"' in svg and "logit adjustment: tau * log(prior)" in svg
    True
    """
    series = tuple(
        _Series(s, _PALETTE[i % len(_PALETTE)], _values(block, s)) for i, s in enumerate(schemes)
    )
    title = "loss weight (dotted line: 1 = unweighted)"
    panels = [_Panel(series, title, reference=1.0, ratio=2.2)]
    desc = f"Horizontal bars per class of the loss weight by scheme: {', '.join(schemes)}"
    if "logit_adjustment" in block.columns:
        offsets = _Series("logit_adjustment", _PALETTE[5], _values(block, "logit_adjustment"))
        title = "logit adjustment: tau * log(prior)"
        panels.append(_Panel((offsets,), title, fill=0.6, empty=(-1.0, 0.0)))
        desc += "; next to them, the logit-adjustment offsets tau * log(prior) around zero"
    legend = [(s.name, s.colour) for s in series]
    return _chart("Class weights by scheme", desc + ".", _names(block), legend, panels)


def _chart(
    title: str,
    desc: str,
    names: list[str],
    legend: list[tuple[str, str]],
    panels: list[_Panel],
) -> str:
    """Legend on top, class labels on the left, then the panels side by side."""
    label_width = max((_text_width(_truncate(n), _FONT) for n in names), default=0.0)
    left = max(40.0, 16.0 + label_width)
    legend_svg, legend_rows = _legend(legend, left)
    top = 8.0 + 18.0 * legend_rows + 8.0
    bar = 11.0 if len(names) <= _ANNOTATE_UP_TO else 7.0  # room for value labels, or not
    band = max(22.0 if bar > 7 else 16.0, bar * max(len(p.series) for p in panels) + 6.0)
    bottom = top + band * len(names)
    height = bottom + 48.0

    out = [
        f'<svg role="img" viewBox="0 0 {_n(_WIDTH)} {_n(height)}" width="100%"'
        f' font-family="system-ui, sans-serif" font-size="{_n(_FONT)}" fill="{_INK}">',
        f"<title>{_esc(title)}</title><desc>{_esc(desc)}</desc>",
    ]
    usable = _WIDTH - _MARGIN - left - _GAP * (len(panels) - 1)
    total = sum(p.ratio for p in panels)
    start = left
    for panel in panels:
        end = start + usable * panel.ratio / total
        out += _panel(panel, start, end, _Rows(top, band, bottom))
        start = end + _GAP
    out.append(f'<g text-anchor="end">{"".join(_class_labels(names, left, top, band))}</g>')
    out += [legend_svg, "</svg>"]
    return "\n".join(out)


def _panel(panel: _Panel, start: float, end: float, rows: _Rows) -> list[str]:
    """One panel between x = start and x = end: grid, bars, lines, value labels, x axis."""
    top, band, bottom = rows.top, rows.band, rows.bottom
    values = [v for s in panel.series for v in s.values]
    extra = [] if panel.reference is None else [panel.reference]
    labels = [[_value_label(v) for v in s.values] for s in panel.series]
    pad_left = pad_right = 0.0
    if panel.annotate:  # room for the value labels beyond the longest bars
        for v, text in zip(values, (t for ts in labels for t in ts), strict=True):
            width = 4.0 + _text_width(text, _SMALL)
            if v < 0:
                pad_left = max(pad_left, width)
            else:
                pad_right = max(pad_right, width)
    lo, hi, ticks = _axis(values + extra, start + pad_left, end - pad_right, panel.empty)
    x0, x1 = start + pad_left, end - pad_right

    def x(v: float) -> float:
        return x0 + (v - lo) / (hi - lo) * (x1 - x0)

    out = ['<g stroke="' + _GRID + '" stroke-width="1">']
    out += [_line(x(t), top, x(t), bottom) for t in ticks]
    out.append("</g>")

    n = len(panel.series)
    height = band * panel.fill / n
    gap = 1.0 if height >= 6 else 0.0
    small = f'font-size="{_n(_SMALL)}" fill="#333333"'
    value_labels: list[str] = []
    for i, series in enumerate(panel.series):
        rects = []
        for k, v in enumerate(series.values):
            y = top + k * band + band * (1 - panel.fill) / 2 + i * height
            bar_start, bar_end = sorted((x(0.0), x(v)))
            rects.append(_rect(bar_start, y + gap / 2, bar_end - bar_start, height - gap))
            if panel.annotate:
                anchor = ' text-anchor="end"' if v < 0 else ""
                tx = x(v) - 3 if v < 0 else x(v) + 3
                ty = y + height / 2 + 0.35 * _SMALL
                value_labels.append(
                    f'<text x="{_n(tx)}" y="{_n(ty)}"{anchor}>{_esc(labels[i][k])}</text>'
                )
        out.append(
            f'<g data-series="{_esc(series.name)}" fill="{series.colour}">{"".join(rects)}</g>'
        )
    if value_labels:
        out.append(f"<g {small}>{''.join(value_labels)}</g>")

    out.append(f'<g stroke="{_MUTED}" stroke-width="1">')
    out.append(_line(x(0.0), top, x(0.0), bottom))  # zero line (the left spine for counts)
    if panel.reference is not None:
        ref = x(panel.reference)
        out.append(_line(ref, top, ref, bottom).replace("/>", ' stroke-dasharray="2 3"/>'))
    out.append(_line(start, bottom, end, bottom))
    out += [_line(x(t), bottom, x(t), bottom + 4) for t in ticks]
    out.append("</g>")

    tick_labels = (
        f'<text x="{_n(x(t))}" y="{_n(bottom + 16)}">{_esc(_tick_label(t))}</text>' for t in ticks
    )
    out.append(f'<g {small} text-anchor="middle">{"".join(tick_labels)}</g>')
    half = _text_width(panel.axis_title, _FONT) / 2  # centred, but inside the chart
    centre = min(max((start + end) / 2, half + 4), _WIDTH - half - 4)
    out.append(
        f'<text x="{_n(centre)}" y="{_n(bottom + 38)}" text-anchor="middle">'
        f"{_esc(panel.axis_title)}</text>"
    )
    return out


def _axis(
    values: list[float], x0: float, x1: float, empty: tuple[float, float]
) -> tuple[float, float, list[float]]:
    """Domain (including 0) rounded out to round ticks, with tick labels that do not overlap."""
    lo, hi = min([0.0, *values]), max([0.0, *values])
    if hi - lo <= 0:
        lo, hi = empty
    for target in (6, 5, 4, 3, 2):
        step = _nice_step((hi - lo) / target)
        first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
        ticks = [_clean(i * step) for i in range(first, last + 1)]
        spacing = (x1 - x0) / max(1, len(ticks) - 1)
        widest = max(_text_width(_tick_label(t), _SMALL) for t in ticks)
        if widest + 8 <= spacing:
            break
    return ticks[0], ticks[-1], ticks


def _nice_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5, 5 (times a power of 10) that is at least ``raw``."""
    magnitude = 10.0 ** math.floor(math.log10(raw))
    return next(
        m * magnitude for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * magnitude >= raw * (1 - 1e-9)
    )


def _legend(entries: list[tuple[str, str]], left: float) -> tuple[str, int]:
    """Swatch + name per entry, in rows from x = left; returns the SVG and the row count."""
    parts, x, row = [], left, 0
    for name, colour in entries:
        width = 17.0 + _text_width(name, _FONT) + 16.0
        if x > left and x + width > _WIDTH - _MARGIN:
            x, row = left, row + 1
        y = 8.0 + 18.0 * row
        parts.append(_rect(x, y, 12.0, 12.0).replace("/>", f' fill="{colour}"/>'))
        parts.append(f'<text x="{_n(x + 17)}" y="{_n(y + 10.5)}">{_esc(name)}</text>')
        x += width
    return f"<g>{''.join(parts)}</g>", row + 1 if entries else 0


def _class_labels(names: list[str], left: float, top: float, band: float) -> list[str]:
    labels = []
    for k, name in enumerate(names):
        y = top + (k + 0.5) * band + 0.35 * _FONT
        short = _truncate(name)
        full = f"<title>{_esc(name)}</title>" if short != name else ""  # tooltip
        labels.append(f'<text x="{_n(left - 8)}" y="{_n(y)}">{_esc(short)}{full}</text>')
    return labels


def _names(block: pl.DataFrame) -> list[str]:
    return [_CONTROL.sub(" ", str(name)) for name in block["class"].to_list()]


def _truncate(name: str) -> str:
    return name if len(name) <= _MAX_LABEL else name[: _MAX_LABEL - 1] + "\u2026"


def _values(block: pl.DataFrame, column: str) -> tuple[float, ...]:
    """The column as floats; null, NaN and infinite values become 0 (and -0.0 becomes 0.0)."""
    values = block[column].cast(pl.Float64).to_list()
    return tuple(v + 0.0 if v is not None and math.isfinite(v) else 0.0 for v in values)


def _value_label(value: float) -> str:
    return f"{value:.4g}"


def _tick_label(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:.6g}"


def _clean(value: float) -> float:
    return round(value, 12) + 0.0  # no 0.30000000000000004, no -0.0


def _text_width(text: str, size: float) -> float:
    """A generous estimate of the rendered width of ``text`` (no font metrics here)."""
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


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _n(value: float) -> str:
    """A coordinate rounded to 2 decimals, without trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _rect(x: float, y: float, width: float, height: float) -> str:
    return f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(width)}" height="{_n(height)}"/>'


def _line(x1: float, y1: float, x2: float, y2: float) -> str:
    return f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}"/>'
