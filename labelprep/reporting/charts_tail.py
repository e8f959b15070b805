"""Report charts for many classes, several splits and annotators, as inline SVG text.

- :func:`long_tail_chart`: the count of every class against its rank (largest first), one
  thin bar per class, log-scaled when the counts span more than two orders of magnitude;
  the head and the tail are coloured and named in the legend, the full names are in the
  head-and-tail chart and the table next to it.
- :func:`split_priors_chart`: a dot plot of the class priors of each split, one row per
  class, one colour per split.
- :func:`annotators_chart`: agreement with the consensus and estimated accuracy per
  annotator, sorted, as grouped bars on [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from labelprep.reporting.charts import Layout, Panel, Series, draw
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
)

_HEAD, _TAIL, _BODY, _ZERO = PALETTE[0], PALETTE[5], "#9aa3ae", "#1d2430"
_PLOT_HEIGHT = 220.0
_DOT_BAND = 22.0  # height of a class row of the dot plot


def long_tail_chart(
    values: Sequence[float], *, named: int, log: bool, axis_title: str = "n_k"
) -> str:
    """Counts sorted largest first, one bar per class rank; ``named`` head / tail coloured.

    Examples
    --------
    >>> svg = long_tail_chart([500.0, 40.0, 3.0, 0.0], named=1, log=True)
    >>> svg.count("<rect")  # four classes (0 as a mark on the axis) and three swatches
    7
    >>> ">class rank (largest first)</text>" in svg and ">1,000</text>" in svg
    True
    """
    counts = sorted(finite(list(values)), reverse=True)
    entries = [(f"head: the {named} largest", _HEAD), (f"tail: the {named} smallest > 0", _TAIL)]
    if zeros := sum(1 for c in counts if c <= 0):
        entries.append((f"n_k = 0 ({zeros:,} classes, marked on the axis)", _ZERO))
    ticks = _y_ticks(counts, log)
    left = 16.0 + max(text_width(tick_label(t), SMALL) for t in ticks) + 8.0
    legend_svg, legend_rows = legend(entries, left)
    top = 16.0 + 18.0 * legend_rows + 8.0
    plot = _Plot(left, WIDTH - MARGIN, top, top + _PLOT_HEIGHT, _y_scale(counts, log, top))
    scale = ", log scale." if log else "."
    desc = f"Counts of the {len(counts)} classes sorted largest first, one bar per class{scale}"
    out = svg_open("Long tail", desc, plot.bottom + 48.0)
    out.append(f'<g stroke="{GRID}" stroke-width="1">')
    out += [line(plot.x0, plot.y(t), plot.x1, plot.y(t)) for t in ticks]
    out.append("</g>")
    out += _rank_bars(counts, named, plot)
    out.append(f'<g stroke="{MUTED}" stroke-width="1">')
    out += [
        line(plot.x0, top, plot.x0, plot.bottom),
        line(plot.x0, plot.bottom, plot.x1, plot.bottom),
    ]
    out.append("</g>")
    out += _rank_axes(len(counts), ticks, plot)
    y_title = f"{axis_title} (log scale)" if log else axis_title
    out.append(f'<text x="{n(left)}" y="{n(top - 8)}" font-size="{n(SMALL)}">{esc(y_title)}</text>')
    out += [legend_svg, "</svg>"]
    return "\n".join(out)


@dataclass(frozen=True)
class _Plot:
    x0: float
    x1: float
    top: float
    bottom: float
    y: Callable[[float], float]


def _rank_bars(counts: list[float], named: int, plot: _Plot) -> list[str]:
    """One bar per rank, coloured by part; a zero count is a short mark on the axis."""
    step = (plot.x1 - plot.x0) / max(1, len(counts))
    width = step - 1 if step > 3 else step + 0.3  # no hairline gaps between thin bars
    out = []
    for colour, ranks in _parts(counts, named):
        bars = [
            rect(plot.x0 + r * step, plot.y(counts[r]), width, plot.bottom - plot.y(counts[r]))
            if counts[r] > 0
            else rect(plot.x0 + r * step, plot.bottom - 4, width, 4)
            for r in ranks
        ]
        out.append(f'<g fill="{colour}">{"".join(bars)}</g>')
    return out


def _rank_axes(k: int, ticks: list[float], plot: _Plot) -> list[str]:
    """Count ticks on the left, rank ticks (1 and round ranks) below, the x axis title."""
    small = f'font-size="{n(SMALL)}" fill="#333333"'
    y_labels = (
        f'<text x="{n(plot.x0 - 6)}" y="{n(plot.y(t) + 0.35 * SMALL)}">{esc(tick_label(t))}</text>'
        for t in ticks
    )
    step = (plot.x1 - plot.x0) / max(1, k)
    ranks = [t for t in linear_ticks(1, max(k, 2), plot.x1 - plot.x0 - step) if 1 <= t <= k]
    ranks = sorted({1.0, *ranks})
    if len(ranks) > 1 and ranks[1] - 1 < (ranks[-1] - 1) / 12:
        ranks.pop(1)  # "1" and a close first round tick would overlap
    x_labels = (
        f'<text x="{n(plot.x0 + (t - 0.5) * step)}" y="{n(plot.bottom + 16)}">'
        f"{esc(tick_label(t))}</text>"
        for t in ranks
    )
    return [
        f'<g {small} text-anchor="end">{"".join(y_labels)}</g>',
        f'<g {small} text-anchor="middle">{"".join(x_labels)}</g>',
        f'<text x="{n((plot.x0 + plot.x1) / 2)}" y="{n(plot.bottom + 38)}"'
        ' text-anchor="middle">class rank (largest first)</text>',
    ]


def _parts(counts: list[float], named: int) -> list[tuple[str, range]]:
    """Head, body and tail (the smallest non-zero) ranks; the zero ranks come last."""
    k, positive = len(counts), sum(1 for c in counts if c > 0)
    head = min(named, positive)
    tail_start = max(head, positive - named)
    return [
        (_HEAD, range(head)),
        (_BODY, range(head, tail_start)),
        (_TAIL, range(tail_start, positive)),
        (_ZERO, range(positive, k)),
    ]


def _y_ticks(counts: list[float], log: bool) -> list[float]:
    if log:
        lo, hi = log_domain(counts)
        return log_ticks(lo, hi, _PLOT_HEIGHT * 2)
    return linear_ticks(0.0, max([*counts, 1e-12]) if any(counts) else 1.0, _PLOT_HEIGHT * 1.5)


def _y_scale(counts: list[float], log: bool, top: float) -> Callable[[float], float]:
    ticks = _y_ticks(counts, log)
    lo, hi, bottom = ticks[0], ticks[-1], top + _PLOT_HEIGHT

    def y(v: float) -> float:
        if log:
            share = (math.log10(max(v, lo)) - math.log10(lo)) / math.log10(hi / lo)
        else:
            share = (v - lo) / (hi - lo)
        return bottom - share * (bottom - top)

    return y


def split_priors_chart(names: Sequence[str], priors: dict[str, Sequence[float]]) -> str:
    """Dot plot: one row per class, one dot per split at its prior (one colour per split).

    Examples
    --------
    >>> svg = split_priors_chart(["a", "b"], {"train": [0.75, 0.25], "test": [0.5, 0.5]})
    >>> svg.count("<circle"), ">train</text>" in svg, ">a</text>" in svg
    (4, True, True)
    """
    labels = [clean_name(name) for name in names]
    colours = {split: PALETTE[i % len(PALETTE)] for i, split in enumerate(priors)}
    left = max(40.0, 16.0 + max((text_width(truncate(s), FONT) for s in labels), default=0.0))
    legend_svg, legend_rows = legend([(clean_name(s), c) for s, c in colours.items()], left)
    top = 16.0 + 18.0 * legend_rows
    bottom = top + _DOT_BAND * len(labels)
    x0, x1 = left, WIDTH - MARGIN - 8.0
    values = [v for vs in priors.values() for v in finite(list(vs))]
    ticks = linear_ticks(0.0, max([*values, 1e-12]), x1 - x0)

    def x(v: float) -> float:
        return x0 + v / ticks[-1] * (x1 - x0)

    def row(k: int) -> float:
        return top + (k + 0.5) * _DOT_BAND

    desc = f"Class priors of the splits {', '.join(map(clean_name, priors))}, one row per class."
    out = svg_open("Class priors per split", desc, bottom + 48.0)
    out.append(f'<g stroke="{GRID}" stroke-width="1">')
    out += [line(x(t), top, x(t), bottom) for t in ticks]
    out += [line(x0, row(k), x1, row(k)) for k in range(len(labels))]
    out.append("</g>")
    for i, (split, vs) in enumerate(priors.items()):
        dy = (i - (len(priors) - 1) / 2) * 3.0 / max(1, len(priors) - 1)  # a little apart
        dots = (
            f'<circle cx="{n(x(v))}" cy="{n(row(k) + dy)}" r="4"/>'
            for k, v in enumerate(finite(list(vs)))
        )
        out.append(
            f'<g data-series="{esc(clean_name(split))}" fill="{colours[split]}"'
            f' fill-opacity="0.85" stroke="#ffffff" stroke-width="0.8">{"".join(dots)}</g>'
        )
    out.append(f'<g stroke="{MUTED}" stroke-width="1">{line(x0, bottom, x1, bottom)}</g>')
    out += _dot_labels(labels, [(x(t), t) for t in ticks], (left, bottom, (x0 + x1) / 2), row)
    return "\n".join([*out, legend_svg, "</svg>"])


def _dot_labels(
    labels: list[str],
    ticks: list[tuple[float, float]],
    place: tuple[float, float, float],
    row: Callable[[int], float],
) -> list[str]:
    """Tick labels, the x axis title and the class names of the dot plot."""
    left, bottom, centre = place
    small = f'font-size="{n(SMALL)}" fill="#333333"'
    tick_text = (
        f'<text x="{n(x)}" y="{n(bottom + 16)}">{esc(tick_label(t))}</text>' for x, t in ticks
    )
    row_labels = (
        f'<text x="{n(left - 8)}" y="{n(row(k) + 0.35 * FONT)}">'
        f"{esc(truncate(name))}{_tooltip(name)}</text>"
        for k, name in enumerate(labels)
    )
    return [
        f'<g {small} text-anchor="middle">{"".join(tick_text)}</g>',
        f'<text x="{n(centre)}" y="{n(bottom + 38)}" text-anchor="middle">'
        "prior (share of the split's n_k)</text>",
        f'<g text-anchor="end">{"".join(row_labels)}</g>',
    ]


def _tooltip(name: str) -> str:
    return f"<title>{esc(name)}</title>" if truncate(name) != name else ""


def annotators_chart(
    names: Sequence[str],
    agreement: Sequence[float],
    accuracy: Sequence[float] | None,
    *,
    blank: frozenset[int] = frozenset(),
) -> str:
    """Per annotator, in the order given: agreement with the consensus and, when the method
    estimates it, accuracy, as grouped bars on [0, 1].

    Examples
    --------
    >>> svg = annotators_chart(["w1", "w2"], [0.9, 0.6], [0.95, 0.7])
    >>> "agreement with consensus" in svg and ">0.95</text>" in svg
    True
    """
    series = [Series("agreement_with_consensus", PALETTE[0], finite(list(agreement)))]
    if accuracy is not None:
        series.append(Series("estimated_accuracy", PALETTE[1], finite(list(accuracy))))
    names_shown = ["agreement with consensus", "estimated accuracy"][: len(series)]
    entries = [(name, s.colour) for name, s in zip(names_shown, series, strict=True)]
    panel = Panel(tuple(series), "share of votes / probability", annotate=len(names) <= 24)
    desc = f"Horizontal bars per annotator: {', '.join(names_shown)}."
    labels = [clean_name(name) for name in names]
    return draw(Layout("Annotators", desc, labels, entries, [panel], blank))
