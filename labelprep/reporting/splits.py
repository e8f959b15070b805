"""The per-split section of the report: the priors of every split side by side (a dot plot
and a table), the drift of each split from the training split (L-infinity distance and
Jensen-Shannon divergence, base 2, as ``labelprep compare``), and the classes present in one
split but absent from another."""

from __future__ import annotations

import polars as pl

from labelprep.drift import prior_drift
from labelprep.errors import LabelprepError
from labelprep.reporting.blocks import (
    Block,
    Bullets,
    Details,
    Figure,
    Heading,
    Inline,
    Para,
    Table,
    names_list,
    num,
)
from labelprep.reporting.charts_tail import split_priors_chart
from labelprep.reporting.classes import ALL_CLASSES_UP_TO
from labelprep.weights import COUNT_COLUMNS, imbalance_ratio

DRIFT_CLASSES_SHOWN = 30  # dot-plot rows when there are more classes than one row each


def split_names(stats: pl.DataFrame) -> list[str]:
    """The splits in order of appearance, the training split first."""
    if "split" not in stats.columns:
        return []
    names = [str(s) for s in stats["split"].drop_nulls().unique(maintain_order=True)]
    if not names:
        return []
    reference = reference_split(names)
    return [reference, *(s for s in names if s != reference)]


def reference_split(names: list[str]) -> str:
    """The training split: "train" when there is one, else the first split."""
    return "train" if "train" in names else names[0]


def split_counts(stats: pl.DataFrame, names: list[str], column: str) -> pl.DataFrame:
    """One row per class (vocabulary order), one n_k column per split (0 where absent)."""
    classes = stats.filter(pl.col("split").is_null())
    if "index" in classes.columns:
        classes = classes.sort("index")
    wide = classes.select("class")
    for name in names:
        part = stats.filter(pl.col("split") == name).select(
            "class", pl.col(column).cast(pl.Float64).alias(name)
        )
        wide = wide.join(part, on="class", how="left", maintain_order="left")
    return wide.fill_null(0.0)


def splits_section(stats: pl.DataFrame, count_by: str) -> list[Block]:
    names = split_names(stats)
    column = COUNT_COLUMNS.get(count_by, count_by)
    if not names or column not in stats.columns:
        return []
    counts = split_counts(stats, names, column)
    reference = reference_split(names)
    priors = counts.select(
        "class", *(pl.col(s) / pl.col(s).sum() if counts[s].sum() > 0 else pl.col(s) for s in names)
    )
    lead = (
        f"n_k = `{column}` per split; priors are each split's n_k / N. Drift from the"
        f" training split (`{reference}`): L-infinity = the largest absolute prior difference,"
        " JSD = Jensen-Shannon divergence in bits (0 = same priors, 1 = disjoint)."
    )
    blocks: list[Block] = [Heading(2, "Per split"), Para((lead,)), _drift_table(counts, reference)]
    blocks += _absent(counts, names)
    if len(names) > 1 or counts.height <= ALL_CLASSES_UP_TO:
        blocks.append(_priors_figure(priors, names, reference))
    weights = split_counts(stats, names, "balanced") if "balanced" in stats.columns else None
    return [*blocks, _side_by_side(counts, priors, weights)]


def _side_by_side(
    counts: pl.DataFrame, priors: pl.DataFrame, weights: pl.DataFrame | None
) -> Details:
    """Per class, each split's n_k, prior and (when known) balanced weight."""
    frames = {"n_k": counts, "prior": priors} | (
        {"balanced": weights} if weights is not None else {}
    )
    names = counts.columns[1:]
    header = ("class", *(f"{s} {h}" for s in names for h in frames))
    columns = [frame[s].to_list() for s in names for frame in frames.values()]
    rows = tuple(
        (str(name), *(num(column[k]) for column in columns))
        for k, name in enumerate(counts["class"].to_list())
    )
    summary = f"Counts, priors and weights of all {counts.height:,} classes per split"
    return Details(summary, (Table(header, rows),), counts.height <= ALL_CLASSES_UP_TO)


def _drift_table(counts: pl.DataFrame, reference: str) -> Table:
    classes = counts["class"].cast(pl.String).to_list()
    rows = []
    for name in counts.columns[1:]:
        mass = counts[name]
        cells = [
            name,
            num(float(mass.sum())),
            num(int((mass > 0).sum())),
            num(imbalance_ratio(mass)),
        ]
        if name == reference:
            cells += ["reference", "-", "-"]
        else:
            try:
                drift = prior_drift(classes, counts[reference].to_list(), mass.to_list())
                cells += [num(drift.linf), drift.linf_class, num(drift.jsd)]
            except LabelprepError:  # a side with no mass: no priors to compare
                cells += ["no mass", "-", "-"]
        rows.append(tuple(cells))
    header = (
        "split",
        "N",
        "classes present",
        "imbalance ratio",
        "L-infinity",
        "at class",
        "JSD (bits)",
    )
    return Table(header, tuple(rows))


def _absent(counts: pl.DataFrame, names: list[str]) -> list[Block]:
    """Per split, the classes it lacks that another split has."""
    if len(names) < 2:
        return []
    items: list[tuple[Inline, ...]] = []
    for name in names:
        others = pl.sum_horizontal(*(pl.col(s) for s in names if s != name))
        missing = counts.filter((pl.col(name) <= 0) & (others > 0))["class"].to_list()
        if missing:
            lead = f"absent from `{name}`, present in another split ({len(missing):,}): "
            items.append((lead, ("user", names_list(missing))))
    if not items:
        return [Para(("Every class with mass in one split has mass in every split.",))]
    return [Bullets(tuple(items))]


def _priors_figure(priors: pl.DataFrame, names: list[str], reference: str) -> Figure:
    """All classes up to 40 (by the reference prior); beyond, the 30 that differ most."""
    if priors.height <= ALL_CLASSES_UP_TO:
        rows = priors.with_row_index("__o").sort([reference, "__o"], descending=[True, False])
        what = f"every class, by the {reference} prior"
    else:
        gap = pl.max_horizontal(*map(pl.col, names)) - pl.min_horizontal(*map(pl.col, names))
        rows = priors.with_columns(gap.alias("__gap")).sort("__gap", descending=True)
        rows = rows.head(DRIFT_CLASSES_SHOWN)
        what = f"the {DRIFT_CLASSES_SHOWN} classes whose priors differ most between splits"
    svg = split_priors_chart([str(c) for c in rows["class"]], {s: rows[s].to_list() for s in names})
    return Figure(svg, f"Class priors per split ({what})")
