"""Charts of the imbalance report, as inline SVG text built by hand (no plotting library).

Both charts here are grouped horizontal bars with one row per class, in the order given (the
report passes the classes sorted by count, largest first): the class counts, and the loss
weights per scheme next to the logit-adjustment offsets. A panel can use a log scale, and
rows can be left blank (a "... more classes" gap between the head and the tail). The SVG is
plain string building, so drawing takes milliseconds and needs nothing beyond the standard
library:

- every user string (class names) is XML-escaped, control characters become spaces;
- there are no ids and coordinates are rounded to 2 decimals, so the same stats always give
  byte-identical SVG and several charts can sit in one HTML page;
- text is real ``<text>`` in a sans-serif font; the root has ``role="img"``, a ``<title>``
  and a ``<desc>``, a ``viewBox`` and ``width="100%"`` so that the page scales it.

Null, NaN and infinite values are drawn as 0; on a log scale, 0 is drawn as no bar.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import polars as pl

from labelprep.reporting.svg import (
    FONT,
    GRID,
    MARGIN,
    MUTED,
    PALETTE,
    SMALL,
    WIDTH,
    clean_name,
    esc,
    finite,
    legend,
    line,
    linear_ticks,
    log_domain,
    log_ticks,
    n,
    rect,
    svg_open,
    text_width,
    tick_label,
    truncate,
    value_label,
)
from labelprep.weights import LOSS_WEIGHT_SCHEMES

_ANNOTATE_UP_TO = 24  # value labels at the end of the bars up to this many rows
_GAP = 56.0  # between the weights panel and the offsets panel


@dataclass(frozen=True)
class Series:
    """One bar per row; ``name`` is kept as the data-series attribute of the bars' group."""

    name: str
    colour: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class Panel:
    series: tuple[Series, ...]
    axis_title: str
    annotate: bool = False  # value label at the end of each bar
    reference: float | None = None  # x of a dotted vertical line
    ratio: float = 1.0  # share of the plotting width
    fill: float = 0.8  # share of a class row the bars of a group fill
    empty: tuple[float, float] = (0.0, 1.0)  # the x range when every value is 0
    log: bool = False  # log-scaled x axis (powers of ten); bars start at the axis minimum


@dataclass(frozen=True)
class Rows:
    top: float  # y of the first class row
    band: float  # height of a class row
    bottom: float  # y of the x axis
    blank: frozenset[int] = field(default_factory=frozenset)  # rows without bars


@dataclass(frozen=True)
class Layout:
    """Grouped-bar chart contents: row labels, legend, panels and the blank rows."""

    title: str
    desc: str
    names: list[str]
    legend: list[tuple[str, str]]
    panels: list[Panel]
    blank: frozenset[int] = field(default_factory=frozenset)


def render_charts(stats: pl.DataFrame) -> dict[str, str]:
    """Draw the per-class charts from the "all rows" block of the weighted class stats.

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


def counts_chart(
    block: pl.DataFrame,
    columns: Sequence[str],
    *,
    log: bool = False,
    blank: frozenset[int] = frozenset(),
    title: str = "Class counts",
) -> str:
    """Grouped horizontal bars of the given count columns per class, as SVG text.

    Each bar ends with its value (``f"{v:.4g}"``) when there are at most 24 rows. With
    ``log``, the x axis is log-scaled; rows in ``blank`` get a label but no bar.

    Examples
    --------
    >>> block = pl.DataFrame({"class": ["a", "b"], "soft_mass": [3.0, 1.0]})
    >>> svg = counts_chart(block, ["soft_mass"])
    >>> ">soft mass</text>" in svg and ">3</text>" in svg and svg.endswith("</svg>")
    True
    """
    series = tuple(
        Series(c, PALETTE[i % len(PALETTE)], _values(block, c)) for i, c in enumerate(columns)
    )
    axis = "items (log scale)" if log else "items"
    panel = Panel(series, axis, annotate=block.height <= _ANNOTATE_UP_TO, log=log)
    names = [c.replace("_", " ") for c in columns]
    entries = [(name, s.colour) for name, s in zip(names, series, strict=True)]
    desc = f"Horizontal bars per class: {', '.join(names)}" + (", log scale." if log else ".")
    return draw(Layout(title, desc, _names(block), entries, [panel], blank))


def weights_chart(
    block: pl.DataFrame, schemes: Sequence[str], *, blank: frozenset[int] = frozenset()
) -> str:
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
        Series(s, PALETTE[i % len(PALETTE)], _values(block, s)) for i, s in enumerate(schemes)
    )
    title = "loss weight (dotted line: 1 = unweighted)"
    panels = [Panel(series, title, reference=1.0, ratio=2.2)]
    desc = f"Horizontal bars per class of the loss weight by scheme: {', '.join(schemes)}"
    if "logit_adjustment" in block.columns:
        offsets = Series("logit_adjustment", PALETTE[5], _values(block, "logit_adjustment"))
        title = "logit adjustment: tau * log(prior)"
        panels.append(Panel((offsets,), title, fill=0.6, empty=(-1.0, 0.0)))
        desc += "; next to them, the logit-adjustment offsets tau * log(prior) around zero"
    entries = [(s.name, s.colour) for s in series]
    layout = Layout("Class weights by scheme", desc + ".", _names(block), entries, panels, blank)
    return draw(layout)


def draw(layout: Layout) -> str:
    """Legend on top, row labels on the left, then the panels side by side."""
    names, panels = layout.names, layout.panels
    label_width = max((text_width(truncate(name), FONT) for name in names), default=0.0)
    left = max(40.0, 16.0 + label_width)
    legend_svg, legend_rows = legend(layout.legend, left)
    top = 8.0 + 18.0 * legend_rows + 8.0
    bar = 14.5 if any(p.annotate for p in panels) else 7.0  # room for value labels, or not
    band = max(22.0 if bar > 7 else 16.0, bar * max(len(p.series) for p in panels) + 6.0)
    rows = Rows(top, band, top + band * len(names), layout.blank)
    out = svg_open(layout.title, layout.desc, rows.bottom + 48.0)
    usable = WIDTH - MARGIN - left - _GAP * (len(panels) - 1)
    total = sum(p.ratio for p in panels)
    start = left
    for panel in panels:
        end = start + usable * panel.ratio / total
        out += _panel(panel, start, end, rows)
        start = end + _GAP
    out.append(f'<g text-anchor="end">{"".join(_row_labels(names, left, rows))}</g>')
    out += [legend_svg, "</svg>"]
    return "\n".join(out)


def _scale(panel: Panel, x0: float, x1: float) -> tuple[float, float, list[float]]:
    """The x domain and its ticks: rounded out to round ticks (including 0), or decades."""
    values = [v for s in panel.series for v in s.values]
    if panel.log:
        lo, hi = log_domain(values)
        return lo, hi, log_ticks(lo, hi, x1 - x0)
    extra = [] if panel.reference is None else [panel.reference]
    lo, hi = min([0.0, *values, *extra]), max([0.0, *values, *extra])
    if hi - lo <= 0:
        lo, hi = panel.empty
    ticks = linear_ticks(lo, hi, x1 - x0)
    return ticks[0], ticks[-1], ticks


def _padding(panel: Panel, rows: Rows) -> tuple[float, float]:
    """Room for the value labels beyond the longest bars, left and right."""
    pad_left = pad_right = 0.0
    if panel.annotate:
        for series in panel.series:
            for k, v in enumerate(series.values):
                if k in rows.blank:
                    continue
                width = 4.0 + text_width(value_label(v), SMALL)
                if v < 0:
                    pad_left = max(pad_left, width)
                else:
                    pad_right = max(pad_right, width)
    return pad_left, pad_right


def _panel(panel: Panel, start: float, end: float, rows: Rows) -> list[str]:
    """One panel between x = start and x = end: grid, bars, lines, value labels, x axis."""
    pad_left, pad_right = _padding(panel, rows)
    x0, x1 = start + pad_left, end - pad_right
    lo, hi, ticks = _scale(panel, x0, x1)

    def x(v: float) -> float:
        if panel.log:
            v = max(v, lo)
            return x0 + (math.log10(v) - math.log10(lo)) / (math.log10(hi / lo)) * (x1 - x0)
        return x0 + (v - lo) / (hi - lo) * (x1 - x0)

    base = lo if panel.log else 0.0
    out = [f'<g stroke="{GRID}" stroke-width="1">']
    out += [line(x(t), rows.top, x(t), rows.bottom) for t in ticks]
    out.append("</g>")
    out += _bars(panel, rows, x, base)
    out.append(f'<g stroke="{MUTED}" stroke-width="1">')
    out.append(line(x(base), rows.top, x(base), rows.bottom))  # zero line / left spine
    if panel.reference is not None:
        ref = x(panel.reference)
        out.append(line(ref, rows.top, ref, rows.bottom).replace("/>", ' stroke-dasharray="2 3"/>'))
    out.append(line(start, rows.bottom, end, rows.bottom))
    out += [line(x(t), rows.bottom, x(t), rows.bottom + 4) for t in ticks]
    out.append("</g>")
    small = f'font-size="{n(SMALL)}" fill="#333333"'
    tick_text = (
        f'<text x="{n(x(t))}" y="{n(rows.bottom + 16)}">{esc(tick_label(t))}</text>' for t in ticks
    )
    out.append(f'<g {small} text-anchor="middle">{"".join(tick_text)}</g>')
    half = text_width(panel.axis_title, FONT) / 2  # centred, but inside the chart
    centre = min(max((start + end) / 2, half + 4), WIDTH - half - 4)
    out.append(
        f'<text x="{n(centre)}" y="{n(rows.bottom + 38)}" text-anchor="middle">'
        f"{esc(panel.axis_title)}</text>"
    )
    return out


def _bars(panel: Panel, rows: Rows, x: Callable[[float], float], base: float) -> list[str]:
    """The bars of each series (one group per series) and their value labels."""
    count = len(panel.series)
    height = rows.band * panel.fill / count
    gap = 1.0 if height >= 6 else 0.0
    out, labels = [], []
    for i, series in enumerate(panel.series):
        rects = []
        for k, v in enumerate(series.values):
            if k in rows.blank:
                continue
            y = rows.top + k * rows.band + rows.band * (1 - panel.fill) / 2 + i * height
            left, right = sorted((x(base), x(v)))
            rects.append(rect(left, y + gap / 2, right - left, height - gap))
            if panel.annotate:
                anchor = ' text-anchor="end"' if v < 0 else ""
                tx = x(v) - 3 if v < 0 else x(v) + 3
                ty = y + height / 2 + 0.35 * SMALL
                labels.append(f'<text x="{n(tx)}" y="{n(ty)}"{anchor}>{esc(value_label(v))}</text>')
        out.append(
            f'<g data-series="{esc(series.name)}" fill="{series.colour}">{"".join(rects)}</g>'
        )
    if labels:
        out.append(f'<g font-size="{n(SMALL)}" fill="#333333">{"".join(labels)}</g>')
    return out


def _row_labels(names: list[str], left: float, rows: Rows) -> list[str]:
    labels = []
    for k, name in enumerate(names):
        y = rows.top + (k + 0.5) * rows.band + 0.35 * FONT
        short = truncate(name)
        full = f"<title>{esc(name)}</title>" if short != name else ""  # tooltip
        style = ' font-style="italic" fill="#555555"' if k in rows.blank else ""
        labels.append(f'<text x="{n(left - 8)}" y="{n(y)}"{style}>{esc(short)}{full}</text>')
    return labels


def _names(block: pl.DataFrame) -> list[str]:
    return [clean_name(name) for name in block["class"].to_list()]


def _values(block: pl.DataFrame, column: str) -> tuple[float, ...]:
    """The column as floats; null, NaN and infinite values become 0."""
    return finite(block[column].cast(pl.Float64).to_list())
