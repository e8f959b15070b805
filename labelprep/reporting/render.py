"""The imbalance report: rendering only, as markdown (CI job summary) or one offline HTML page.

The content is built once as small blocks (:mod:`labelprep.reporting.blocks`) that each
format renders; the sections live in :mod:`labelprep.reporting.outcome` (headline, rows, what
happened to the data, votes), :mod:`labelprep.reporting.classes` (counts at any number of
classes), :mod:`labelprep.reporting.weights` (weights, calibration) and
:mod:`labelprep.reporting.splits` (priors and drift per split). Any summary key may be
missing: a section without data is left out. User strings (class names, paths, reasons,
notices, rejected values) are escaped in both formats.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from labelprep.reporting.blocks import Block, Heading, Para, html_document, markdown_document
from labelprep.reporting.classes import classes_section, which_count
from labelprep.reporting.outcome import (
    data_section,
    headline,
    rows_section,
    tail_sections,
    votes_section,
)
from labelprep.reporting.splits import splits_section
from labelprep.reporting.weights import calibration_section, weights_section

__all__ = ["render_html", "render_markdown"]


def render_markdown(stats: pl.DataFrame, summary: dict[str, Any]) -> str:
    """Render the imbalance report as GitHub-flavoured markdown (pipe tables, no HTML).

    Parameters
    ----------
    stats
        Weighted class statistics: the counts frame after :func:`labelprep.weights.add_weights`.
    summary
        Run summary (version, row counts, rejects, evidence kinds, options, notices...); any
        key may be missing.

    Examples
    --------
    >>> stats = pl.DataFrame({"split": [None, None], "class": ["a", "b"],
    ...                       "soft_mass": [3.0, 1.0], "support": [4, 2]})
    >>> render_markdown(stats, {}).splitlines()[0]
    '# labelprep imbalance report'
    """
    return markdown_document(report_blocks(stats, summary))


def render_html(stats: pl.DataFrame, summary: dict[str, Any]) -> str:
    """Render the imbalance report as one self-contained HTML page that works offline.

    The charts are inline SVG, drawn by :mod:`labelprep.reporting.charts` without any plotting
    library; the page has no script, and long tables are collapsible ``<details>`` whose
    text the browser's find-in-page still reaches.

    Examples
    --------
    >>> stats = pl.DataFrame({"class": ["<b>"], "soft_mass": [1.0]})
    >>> "&lt;b&gt;" in render_html(stats, {})
    True
    """
    return html_document(report_blocks(stats, summary))


def report_blocks(stats: pl.DataFrame, summary: dict[str, Any]) -> list[Block]:
    """The report's sections, in reading order."""
    block = _all_rows(stats)
    count_by = str(summary.get("count_by", "soft"))
    blocks: list[Block] = [Heading(1, "labelprep imbalance report")]
    if "version" in summary:
        blocks.append(Para(("labelprep ", ("user", str(summary["version"])))))
    blocks += headline(summary)
    blocks += rows_section(summary)
    blocks += data_section(summary)
    blocks += classes_section(block, summary, count_by)
    blocks += which_count(block)
    blocks += weights_section(block, summary, count_by)
    blocks += calibration_section(block, summary, count_by)
    blocks += splits_section(stats, count_by)
    blocks += votes_section(summary)
    return blocks + tail_sections(summary)


def _all_rows(stats: pl.DataFrame) -> pl.DataFrame:
    block = stats.filter(pl.col("split").is_null()) if "split" in stats.columns else stats
    return block.sort("index") if "index" in block.columns else block
