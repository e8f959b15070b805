"""Per-class statistics: the counting columns of ``class_stats.parquet``.

All counts are over accepted rows, per split and for all rows together (the
block whose ``split`` is null):

``soft_mass``        sum of the soft targets: the expected number of items of the class
``support``          items whose soft target for the class is > 0
``hard_count``       items whose argmax (``hard_label``) is the class
``labelled_count``   items whose evidence names the class as their known label
``candidate_count``  items whose mask allows the class
``excluded_count``   items that explicitly exclude the class

Everything is one aggregation grouped by a small composite key (split,
evidence kind, candidate-set size, entropy bin), so a single streaming pass
yields the class statistics and the dataset summary together.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import polars as pl

from labelprep.targets import evidence_name, excluded, mask, target

COUNT_COLUMNS: tuple[str, ...] = (
    "soft_mass",
    "support",
    "hard_count",
    "labelled_count",
    "candidate_count",
    "excluded_count",
)
MASS_DECIMALS = 9
ENTROPY_BIN = 0.05  # bits; the target-entropy distribution is summarised from these bins
_KEYS = ("__file", "split", "__evidence", "__set_size", "__entropy_bin")


def _row_entropy_bits(k: int) -> pl.Expr:
    terms = [
        pl.when(target(i) > 0).then(-target(i) * target(i).log(2)).otherwise(0.0) for i in range(k)
    ]
    return pl.sum_horizontal(terms)


def partial_sums(lf: pl.LazyFrame, k: int, *, has_split: bool) -> pl.LazyFrame:
    """Aggregate accepted rows (wide ``__t``/``__m`` columns) by the composite key."""
    split = pl.col("split") if has_split else pl.lit(None, dtype=pl.String).alias("split")
    entropy = _row_entropy_bits(k)
    keyed = lf.with_columns(
        split,
        pl.sum_horizontal([mask(i).cast(pl.UInt32) for i in range(k)]).alias("__set_size"),
        (entropy / ENTROPY_BIN).floor().cast(pl.Int32).alias("__entropy_bin"),
        entropy.alias("__entropy"),
    )
    aggs: list[pl.Expr] = [
        pl.len().alias("rows"),
        pl.col("__entropy").sum().alias("entropy_sum"),
        pl.col("__entropy").max().alias("entropy_max"),
    ]
    for i in range(k):
        aggs += [
            target(i).sum().alias(f"soft_mass_{i}"),
            (target(i) > 0).sum().alias(f"support_{i}"),
            (pl.col("__hard") == i).sum().alias(f"hard_count_{i}"),
            (pl.col("__has_y") & (pl.col("__y") == i)).sum().alias(f"labelled_count_{i}"),
            mask(i).sum().alias(f"candidate_count_{i}"),
            excluded(i).sum().alias(f"excluded_count_{i}"),
        ]
    return keyed.group_by(list(_KEYS)).agg(aggs)


def class_counts(partials: pl.DataFrame, classes: Sequence[str]) -> pl.DataFrame:
    """Long per-class table (split, class, index, counts): all rows first, then each split.

    The streaming aggregation adds floats in an order that depends on thread scheduling,
    so the soft mass is summed over sorted groups and rounded to ``MASS_DECIMALS``
    decimals: the same inputs give bit-identical statistics.
    """
    partials = partials.sort(_KEYS, nulls_last=False)
    sums = [pl.col(f"{c}_{i}").sum() for i in range(len(classes)) for c in COUNT_COLUMNS]
    overall = partials.select(pl.lit(None, dtype=pl.String).alias("split"), *sums)
    per_split = (
        partials.filter(pl.col("split").is_not_null()).group_by("split").agg(sums).sort("split")
    )
    wide = pl.concat([overall, per_split]) if per_split.height else overall
    return _to_long(wide, classes)


def _to_long(wide: pl.DataFrame, classes: Sequence[str]) -> pl.DataFrame:
    blocks = []
    for i, name in enumerate(classes):
        blocks.append(
            wide.select(
                "split",
                pl.lit(name).alias("class"),
                pl.lit(i, dtype=pl.UInt32).alias("index"),
                *[pl.col(f"{c}_{i}").alias(c) for c in COUNT_COLUMNS],
            )
        )
    long = pl.concat(blocks).with_columns(
        pl.col("soft_mass").cast(pl.Float64).round(MASS_DECIMALS),
        *[pl.col(c).cast(pl.Int64) for c in COUNT_COLUMNS[1:]],
    )
    order = pl.col("split").is_not_null()
    return long.sort(order, "split", "index", nulls_last=False, maintain_order=True)


def empty_partials(k: int) -> pl.DataFrame:
    """Partial sums of an input with no accepted rows (every count zero)."""
    schema: dict[str, Any] = {
        "__file": pl.Int64,
        "split": pl.String,
        "__evidence": pl.UInt8,
        "__set_size": pl.UInt32,
        "__entropy_bin": pl.Int32,
        "rows": pl.UInt32,
        "entropy_sum": pl.Float64,
        "entropy_max": pl.Float64,
    }
    for i in range(k):
        schema.update({f"{c}_{i}": pl.Float64 for c in COUNT_COLUMNS})
    return pl.DataFrame(schema=schema)


def row_summary(partials: pl.DataFrame) -> dict[str, Any]:
    """Rows by evidence kind, candidate-set sizes, and the target-entropy distribution."""
    rows = int(partials["rows"].sum())
    by_evidence = (
        partials.group_by("__evidence")
        .agg(pl.col("rows").sum())
        .with_columns(evidence_name(pl.col("__evidence")).alias("evidence"))
        .sort("evidence")
    )
    by_size = partials.group_by("__set_size").agg(pl.col("rows").sum()).sort("__set_size")
    bins = partials.group_by("__entropy_bin").agg(pl.col("rows").sum()).sort("__entropy_bin")
    return {
        "rows_by_evidence": dict(
            zip(by_evidence["evidence"], map(int, by_evidence["rows"]), strict=True)
        ),
        "candidate_set_size": {str(s): int(n) for s, n in by_size.iter_rows()},
        "target_entropy_bits": _entropy_summary(partials, bins, rows),
    }


def _entropy_summary(partials: pl.DataFrame, bins: pl.DataFrame, rows: int) -> dict[str, float]:
    if rows == 0:
        return {"mean": 0.0, "p50": 0.0, "p90": 0.0, "max": 0.0}
    cumulative = bins.with_columns(pl.col("rows").cum_sum().alias("cum"))
    top = float(partials["entropy_max"].cast(pl.Float64).max() or 0.0)  # type: ignore[arg-type]

    def quantile(q: float) -> float:
        """Upper edge of the bin holding the q-quantile (within ENTROPY_BIN bits)."""
        hit = int(cumulative.filter(pl.col("cum") >= math.ceil(q * rows))["__entropy_bin"][0])
        return round(min((hit + 1) * ENTROPY_BIN, top), 6)

    return {
        "mean": round(float(partials["entropy_sum"].sum()) / rows, 6),
        "p50": quantile(0.5),
        "p90": quantile(0.9),
        "max": round(top, 6),
    }
