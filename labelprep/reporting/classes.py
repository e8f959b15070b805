"""Report sections about the classes: counts (long tail, head and tail, full table), which
count to balance, the class weights with the extreme ones flagged, and the calibration
advice with paste-ready offsets when the counts support them."""

from __future__ import annotations

from typing import Any

import polars as pl

from labelprep.reporting.blocks import (
    Block,
    Details,
    Figure,
    Heading,
    Inline,
    Para,
    frame_table,
    kv_table,
    names_list,
    num,
)
from labelprep.reporting.charts import counts_chart
from labelprep.reporting.charts_tail import long_tail_chart
from labelprep.reporting.svg import wants_log
from labelprep.weights import COUNT_COLUMNS, dataset_summary, imbalance_ratio

ALL_CLASSES_UP_TO = 40  # one chart row per class up to this many classes
NAMED = 10  # classes named at each end of a longer tail
HEAD_TAIL = f"the {NAMED} largest and the {NAMED} smallest non-zero classes"
EXTREME = 10.0  # a weight above this many times the median weight is flagged

COUNTS = {
    "soft_mass": "soft mass",
    "support": "support",
    "hard_count": "hard count",
    "candidate_count": "candidates",
    "labelled_count": "labelled",
    "excluded_count": "excluded",
    "prior": "prior",
}


def count_column(block: pl.DataFrame, count_by: str) -> str | None:
    """The n_k column of ``count_by``, when the stats have it."""
    column = COUNT_COLUMNS.get(count_by, count_by)
    return column if column in block.columns else None


def by_count(block: pl.DataFrame, column: str | None) -> pl.DataFrame:
    """The classes largest n_k first (ties in vocabulary order)."""
    if column is None:
        return block
    return block.with_row_index("__order").sort([column, "__order"], descending=[True, False])


def head_and_tail(ordered: pl.DataFrame, column: str | None) -> tuple[pl.DataFrame, frozenset[int]]:
    """All classes up to 40; beyond, the 10 largest, a "... more" row, the 10 smallest
    non-zero and a row counting the classes with no mass (``blank``: the rows without bars).
    """
    if ordered.height <= ALL_CLASSES_UP_TO:
        return ordered, frozenset()
    zero = pl.col(column).cast(pl.Float64).fill_null(0.0) <= 0 if column else pl.lit(False)
    positive, empty = ordered.filter(~zero), ordered.filter(zero)

    def row(text: str) -> pl.DataFrame:
        return pl.DataFrame({"class": [text]}, schema={"class": pl.String})

    parts, blank = [positive.head(NAMED)], set()
    if positive.height > 2 * NAMED:
        blank.add(NAMED)
        parts += [row(f"\u2026 {positive.height - 2 * NAMED:,} more classes \u2026")]
        parts.append(positive.tail(NAMED))
    else:
        parts = [positive]
    if empty.height:
        blank.add(sum(p.height for p in parts))
        parts.append(row(f"{_classes(empty.height)} with no mass"))
    return pl.concat(parts, how="diagonal_relaxed"), frozenset(blank)


def _classes(count: int) -> str:
    return "1 class" if count == 1 else f"{count:,} classes"


def classes_section(block: pl.DataFrame, summary: dict[str, Any], count_by: str) -> list[Block]:
    if block.is_empty():
        return []
    column = COUNT_COLUMNS.get(count_by, count_by)
    note = (
        "**soft mass**: sum of the items' probabilities (the expected count); **support**: items"
        " with p > 0; **hard count**: items whose argmax is the class; **candidates**: items"
        " whose mask allows it; **labelled** / **excluded**: items that name it as their class /"
        f" rule it out. **prior** = n_k / N, with n_k the `{column}` (count_by = {count_by})."
    )
    k = block.height
    table = Details(
        f"All {k:,} classes, in vocabulary order", (frame_table(block, COUNTS),), k <= 40
    )
    blocks: list[Block] = [Heading(2, "Classes"), *_count_charts(block, count_by), table]
    blocks.append(Para((note,)))
    dataset = summary.get("dataset")
    if not isinstance(dataset, dict) and column in block.columns:
        dataset = dataset_summary(block, count_by=count_by)  # type: ignore[arg-type]
    return blocks + _imbalance(dataset) if isinstance(dataset, dict) else blocks


def _count_charts(block: pl.DataFrame, count_by: str) -> list[Block]:
    column = count_column(block, count_by)
    counts = [c for c in ("soft_mass", "support", "hard_count") if c in block.columns]
    if column is None or not counts:
        return []
    ordered = by_count(block, column)
    values = ordered[column].cast(pl.Float64).fill_null(0.0).to_list()
    if not any(v > 0 for v in values):
        return [Para((f"No chart: every class has `{column}` 0.",))]
    log = wants_log(values)
    scale = " (log scale: the largest n_k is over 100 times the smallest non-zero one)"
    shown, blank = head_and_tail(ordered, column)
    blocks: list[Block] = []
    if blank:
        chart = long_tail_chart(values, named=NAMED, log=log, axis_title=column)
        caption = f"Long tail: the {block.height:,} classes by {column}, largest first"
        blocks.append(Figure(chart, caption + (scale if log else "")))
    chart = counts_chart(shown, counts, log=log, blank=blank, title="Class counts")
    what = (
        f"the {NAMED} largest and the {NAMED} smallest non-zero classes" if blank else "every class"
    )
    blocks.append(Figure(chart, f"Class counts of {what}, largest {column} first"))
    if ordered.height > 2 * NAMED:  # fewer classes are all named in the chart and table
        blocks.append(_ends(ordered, column))
    return blocks


def _ends(ordered: pl.DataFrame, column: str) -> Para:
    """The head and the tail, named with their n_k."""

    def named(rows: pl.DataFrame) -> str:
        return ", ".join(f"{r['class']} ({num(r[column])})" for r in rows.iter_rows(named=True))

    return Para(
        (
            f"**Largest {NAMED}** by `{column}`: ",
            ("user", named(ordered.head(NAMED))),
            f". **Smallest {NAMED} non-zero**: ",
            ("user", named(ordered.filter(pl.col(column) > 0).tail(NAMED).reverse())),
            ".",
        )
    )


def _imbalance(dataset: dict[str, Any]) -> list[Block]:
    rows = {
        "imbalance ratio (largest / smallest non-zero n_k)": dataset.get("imbalance_ratio"),
        "prior entropy (bits)": dataset.get("prior_entropy_bits"),
        "effective number of classes (2 ** entropy)": dataset.get("effective_classes"),
        "classes (K)": dataset.get("k"),
        "N (sum of n_k)": dataset.get("n"),
    }
    blocks: list[Block] = [Heading(3, "Imbalance"), *kv_table(("", "value"), rows)]
    if empty := dataset.get("zero_mass_classes"):
        names = ("user", names_list(list(empty)))
        blocks.append(Para((f"{_classes(len(empty))} with no mass (all weights 0): ", names, ".")))
    return blocks


def which_count(block: pl.DataFrame) -> list[Block]:
    if not {"soft_mass", "support"} <= set(block.columns):
        return []
    observed = block.filter(pl.col("soft_mass") > 0)
    if observed.is_empty():
        return []
    mass, support = (observed[c].cast(pl.Float64) for c in ("soft_mass", "support"))
    parts: list[Inline] = [
        "**Soft mass is the expected class count.** Summing the items' probabilities for a"
        f" class gives how many items of that class to expect; the soft masses sum to"
        f" {num(float(mass.sum()))}, one per accepted row. If you balance at all, balance"
        " this number. **Support over-counts small probabilities:** an item with p = 0.05"
        " counts as much as one with p = 0.9."
    ]
    if observed.height:
        k = int((support / mass).arg_max() or 0)
        parts += [" Here ", ("user", str(observed["class"][k]))]
        items = "1 item" if support[k] == 1 else f"{num(support[k])} items"
        parts.append(
            f" is given some probability by {items}, but its expected count is"
            f" {num(mass[k])}. The imbalance ratio is {num(imbalance_ratio(mass))} by soft"
            f" mass and {num(imbalance_ratio(support))} by support."
        )
    return [Heading(2, "Which count to balance"), Para(tuple(parts))]
