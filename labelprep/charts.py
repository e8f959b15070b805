"""Charts of the imbalance report, as inline SVG text (matplotlib, an optional extra).

matplotlib is imported lazily, only when a chart is drawn, so that ``import labelprep`` and
the markdown report never need it. Figures are built with :class:`matplotlib.figure.Figure`
(no pyplot, no global backend or state) and saved as SVG with text kept as text
(``svg.fonttype = "none"``), a fixed ``svg.hashsalt`` and no metadata, so the same stats
always give byte-identical SVG.
"""

from __future__ import annotations

import importlib.util
import io
import re
from collections.abc import Sequence
from typing import Any

import polars as pl

from labelprep.weights import LOSS_WEIGHT_SCHEMES

CHARTS_HINT = "charts need `pip install 'labelprep[charts]'`"
"""Shown in the HTML report instead of the charts when matplotlib is missing."""

# Okabe-Ito palette: distinguishable with the common colour-vision deficiencies.
_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
_MAX_LABEL = 28
# Prolog, DOCTYPE and metadata are invalid or useless inside HTML; the namespace attributes
# are implied for inline <svg> by the HTML parser (xlink:href included).
_STRIP = re.compile(
    r'<\?xml.*?\?>\s*|<!DOCTYPE.*?>\s*|<metadata>.*?</metadata>\s*| xmlns(:xlink)?="[^"]*"',
    re.DOTALL,
)
_ID_REFS = re.compile(r'(\bid="|url\(#|href="#)')
_RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "text.parse_math": False,  # a class named "$x$" is a name, not mathtext
    "font.family": "sans-serif",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def charts_available() -> bool:
    """Whether matplotlib is installed, i.e. whether :func:`render_charts` can draw.

    Examples
    --------
    >>> isinstance(charts_available(), bool)
    True
    """
    return importlib.util.find_spec("matplotlib") is not None


def render_charts(stats: pl.DataFrame) -> dict[str, str] | None:
    """Draw the report charts from the "all rows" block of the weighted class stats.

    Parameters
    ----------
    stats
        Class statistics with ``class``, the counts and the weight columns; rows whose
        ``split`` is not null are ignored.

    Returns
    -------
    dict or None
        Chart title -> SVG element text (no XML prolog), or None if matplotlib is missing.

    Examples
    --------
    >>> stats = pl.DataFrame({"class": ["a", "b"], "soft_mass": [1.5, 0.5],
    ...                       "support": [2, 1], "hard_count": [2, 0]})
    >>> list(render_charts(stats) or {"Class counts": ""})
    ['Class counts']
    """
    if not charts_available():
        return None
    block = stats.filter(pl.col("split").is_null()) if "split" in stats.columns else stats
    charts: dict[str, str] = {}
    counts = [c for c in ("soft_mass", "support", "hard_count") if c in block.columns]
    if counts:
        charts["Class counts"] = counts_chart(block, counts)
    schemes = [c for c in LOSS_WEIGHT_SCHEMES if c in block.columns]
    if schemes:
        charts["Class weights by scheme"] = weights_chart(block, schemes)
    return charts


def counts_chart(block: pl.DataFrame, columns: Sequence[str]) -> str:
    """Grouped horizontal bars of the given count columns per class, as SVG text."""
    with _rc("labelprep-counts"):
        fig, ax = _figure(block.height, len(columns), ncols=1)
        _grouped_bars(ax[0], block, columns, annotate=block.height <= 12)
        ax[0].set_xlabel("items")
        _legend(fig, ax[0], len(columns), spaces=True)
        return _to_svg(fig, "counts")


def weights_chart(block: pl.DataFrame, schemes: Sequence[str]) -> str:
    """Loss weights per class and scheme, next to the logit-adjustment offsets, as SVG."""
    with _rc("labelprep-weights"):
        offsets = "logit_adjustment" in block.columns
        fig, ax = _figure(block.height, len(schemes), ncols=2 if offsets else 1)
        _grouped_bars(ax[0], block, schemes, annotate=False)
        ax[0].axvline(1.0, color="#555555", linewidth=0.8, linestyle=":")
        ax[0].set_xlabel("loss weight (dotted line: 1 = unweighted)")
        _legend(fig, ax[0], len(schemes), spaces=False)
        if offsets:
            _offset_bars(ax[1], block)
        return _to_svg(fig, "weights")


def _rc(salt: str) -> Any:
    import matplotlib as mpl

    settings: Any = {**_RC, "svg.hashsalt": salt}
    return mpl.rc_context(settings)


def _figure(classes: int, series: int, *, ncols: int) -> tuple[Any, list[Any]]:
    from matplotlib.figure import Figure

    height = 1.3 + classes * max(0.32, 0.13 * series)
    width = 7.0 if ncols == 1 else 10.0
    ratios = [1.0] if ncols == 1 else [2.2, 1.0]
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(1, ncols, sharey=True, squeeze=False, width_ratios=ratios)[0]
    return fig, list(axes)


def _labels(block: pl.DataFrame) -> list[str]:
    names = [str(name) for name in block["class"].to_list()]
    return [n if len(n) <= _MAX_LABEL else n[: _MAX_LABEL - 1] + "\u2026" for n in names]


def _grouped_bars(ax: Any, block: pl.DataFrame, columns: Sequence[str], *, annotate: bool) -> None:
    height = 0.8 / len(columns)
    for i, column in enumerate(columns):
        values = block[column].cast(pl.Float64).fill_null(0.0).to_list()
        ys = [k - 0.4 + height * (i + 0.5) for k in range(block.height)]
        bars = ax.barh(ys, values, height=height, label=column, color=_PALETTE[i % 6])
        if annotate:
            ax.bar_label(bars, labels=[f"{v:.4g}" for v in values], padding=2, fontsize=8)
    ax.set_yticks(range(block.height), _labels(block))
    ax.set_ylim(block.height - 0.5, -0.5)  # first class on top, as in the tables
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.margins(x=0.12)


def _offset_bars(ax: Any, block: pl.DataFrame) -> None:
    values = block["logit_adjustment"].cast(pl.Float64).fill_null(0.0).to_list()
    ax.barh(range(block.height), values, height=0.6, color=_PALETTE[5])
    ax.axvline(0.0, color="#555555", linewidth=0.8)
    ax.set_xlabel("logit adjustment: tau * log(prior)")
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(axis="y", left=False)


def _legend(fig: Any, ax: Any, entries: int, *, spaces: bool) -> None:
    handles, labels = ax.get_legend_handles_labels()
    labels = [label.replace("_", " ") for label in labels] if spaces else labels
    fig.legend(handles, labels, loc="outside upper left", ncols=entries, frameon=False)


def _to_svg(fig: Any, prefix: str) -> str:
    """SVG element text; every id is prefixed so that several charts share one page."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = _STRIP.sub("", buffer.getvalue()).strip()
    # Only inside tags: text content is escaped by matplotlib, so it holds no "<" or ">".
    return re.sub(r"<[^>]*>", lambda tag: _ID_REFS.sub(rf"\g<1>{prefix}-", tag.group(0)), svg)
