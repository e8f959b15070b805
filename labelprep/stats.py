"""Per-class statistics: the counting columns of ``class_stats.parquet``.

All counts are over accepted rows, per split and for all rows together (the
block whose ``split`` is null):

``soft_mass``        sum of the soft targets: the expected number of items of the class
``support``          items whose soft target for the class is > 0
``hard_count``       items whose argmax (``hard_label``) is the class
``labelled_count``   items whose evidence names the class as their known label
``candidate_count``  items whose mask allows the class
``excluded_count``   items that explicitly exclude the class

:class:`BatchStats` counts them batch by batch while the targets are written
(see :mod:`labelprep.batches`): numpy reductions and bitmap counts per batch for the
per-class sums (:func:`class_sums`), and numpy histograms of the rows by file,
evidence kind, candidate-set size and target entropy for the dataset summary.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import polars as pl

from labelprep.exactsum import exact_column_units, exact_units, units_to_float
from labelprep.targets import EVIDENCE_NAMES

if TYPE_CHECKING:
    from labelprep.batches import Wide

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
ENTROPY_BOUND = 1 << 7  # bits: the entropy of a target over fewer than 2**128 classes

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@functools.cache
def class_columns(prefix: str, k: int) -> tuple[str, ...]:
    """``(prefix0, ..., prefix{k-1})``: the names of a per-class column, built once."""
    return tuple(f"{prefix}{i}" for i in range(k))


def sum_columns(k: int) -> list[str]:
    """The per-class columns of a sums table: ``soft_mass_0`` ... ``excluded_count_{k-1}``."""
    return [f"{c}_{i}" for c in COUNT_COLUMNS for i in range(k)]


def empty_sums(k: int) -> pl.DataFrame:
    """Per-class sums of an input with no accepted rows."""
    schema: dict[str, Any] = {"split": pl.String, "rows": pl.Int64}
    schema.update(dict.fromkeys(sum_columns(k), pl.Float64))
    return pl.DataFrame(schema=schema)


_STORED_NONZERO = 2.0**-150


def class_sums(batch: pl.DataFrame, wide: Wide, k: int, *, rows: Any = None) -> list[int]:
    """Per-class sums over the chosen ``rows`` (a boolean numpy array; None for all) of
    a batch: its ``__e`` columns and ``__y``, and its targets, written targets, masks and
    argmax as matrices (``wide``). Returns ``[rows, *sum_columns(k)]``, all integers: the
    soft masses in units of 2**-64 (:mod:`labelprep.exactsum`), so that batches add up
    exactly, in any order and however the input was cut.

    numpy reductions over the matrices and one Polars query: no per-class Python work.
    """
    chosen = None if rows is None else pl.Series(rows)
    labels = batch["__y"] if chosen is None else batch["__y"].filter(chosen)
    excluded = batch.select(class_columns("__e", k))
    if chosen is not None:
        excluded = excluded.filter(chosen)
    # Per class, over column-major matrices. A target is stored as a nonzero float32
    # exactly when it exceeds 2**-150 (half the smallest subnormal; a tie rounds to 0).
    support, candidates = wide.targets > _STORED_NONZERO, wide.masks_by_class
    if rows is not None:
        support &= rows[:, None]
        candidates = candidates & rows[:, None]
    per_class: dict[str, Any] = {
        "soft_mass": exact_column_units(wide.targets, rows),
        "support": np.count_nonzero(support, axis=0).tolist(),
        "hard_count": np.bincount(wide.hard if rows is None else wide.hard[rows], minlength=k),
        "labelled_count": np.bincount(labels.drop_nulls().to_numpy(), minlength=k),
        "candidate_count": np.count_nonzero(candidates, axis=0).tolist(),
        "excluded_count": excluded.sum().row(0) if k else [],  # a bitmap count per class
    }
    n = batch.height if rows is None else int(np.count_nonzero(rows))
    return [n, *(int(v) for name in COUNT_COLUMNS for v in per_class[name])]


@dataclass
class RowCounts:
    """Accepted rows by file, evidence code, candidate-set size and entropy bin."""

    by_file: dict[int, int] = field(default_factory=dict)
    by_evidence: Ints = field(default_factory=lambda: np.zeros(len(EVIDENCE_NAMES), np.int64))
    by_set_size: Ints = field(default_factory=lambda: np.zeros(0, np.int64))
    by_entropy_bin: Ints = field(default_factory=lambda: np.zeros(0, np.int64))
    entropy_units: int = 0
    """Summed target entropy in bits, in units of 2**-64 (exact: see :mod:`labelprep.exactsum`)."""
    entropy_max: float = 0.0

    @property
    def entropy_sum(self) -> float:
        return units_to_float(self.entropy_units)

    @property
    def total(self) -> int:
        return int(self.by_evidence.sum())

    def add(self, other: RowCounts) -> None:
        for index, rows in other.by_file.items():
            self.by_file[index] = self.by_file.get(index, 0) + rows
        self.by_evidence = self.by_evidence + other.by_evidence
        self.by_set_size = _add(self.by_set_size, other.by_set_size)
        self.by_entropy_bin = _add(self.by_entropy_bin, other.by_entropy_bin)
        self.entropy_units += other.entropy_units
        self.entropy_max = max(self.entropy_max, other.entropy_max)


def _add(a: Ints, b: Ints) -> Ints:
    size = max(a.size, b.size)
    return np.pad(a, (0, size - a.size)) + np.pad(b, (0, size - b.size))


def row_counts(files: pl.Series, evidence: Ints, set_size: Ints, entropy: Floats) -> RowCounts:
    """Histograms of one batch (one value per accepted row)."""
    if files.len() and files.min() == files.max():  # a batch seldom spans two files
        by_file = {int(files[0]): files.len()}
    else:
        by_file = {int(f): int(n) for f, n in files.value_counts().iter_rows()}
    return RowCounts(
        by_file=by_file,
        by_evidence=np.bincount(evidence, minlength=len(EVIDENCE_NAMES)),
        by_set_size=np.bincount(set_size),
        by_entropy_bin=np.bincount(np.floor(entropy / ENTROPY_BIN).astype(np.int64)),
        entropy_units=exact_units(entropy, bound=ENTROPY_BOUND),
        entropy_max=float(entropy.max()) if entropy.size else 0.0,
    )


class BatchStats:
    """Collects the per-batch statistics and adds them up exactly.

    Every per-class sum of a batch is an integer (the soft mass in 2**-64 units), so the
    totals are the same whatever the order in which the batches are counted and however
    the input was cut into batches (which depends on the number of threads).
    """

    def __init__(self, k: int) -> None:
        self.k = k
        self._sums: dict[str | None, list[int]] = {}
        self._rows: list[tuple[int, RowCounts]] = []
        self._lock = threading.Lock()  # the tap may run on several threads at once

    def add(
        self, batch: int, sums: Sequence[tuple[str | None, Sequence[int]]], rows: RowCounts
    ) -> None:
        """Add one batch's per-class sums (by split, from :func:`class_sums`) and keep its
        row histograms (``batch``: the position of its first row)."""
        with self._lock:
            for split, values in sums:
                total = self._sums.get(split)
                self._sums[split] = (
                    list(values)
                    if total is None
                    else [a + b for a, b in zip(total, values, strict=True)]
                )
        self._rows.append((batch, rows))

    def units(self) -> list[tuple[str | None, list[int]]]:
        """The exact per-split sums (soft masses in 2**-64 units), as :meth:`add` takes them:
        an engine that splits the work adds its tasks' counts up with these."""
        with self._lock:
            return [(split, list(values)) for split, values in self._sums.items()]

    def sums(self) -> pl.DataFrame:
        """Per-class sums per split (``split`` null when the input has none), in split
        order (null first)."""
        if not self._sums:
            return empty_sums(self.k)
        columns = ["rows", *sum_columns(self.k)]
        splits = sorted(self._sums, key=lambda split: (split is not None, split or ""))
        mass = slice(1, 1 + self.k)  # soft_mass_0 ... soft_mass_{k-1}: 2**-64 units
        table = []
        for split in splits:
            values: list[float] = [float(v) for v in self._sums[split]]
            values[mass] = [units_to_float(v) for v in self._sums[split][mass]]
            table.append(values)
        frame = pl.DataFrame(table, schema=dict.fromkeys(columns, pl.Float64), orient="row")
        return frame.with_columns(
            pl.Series("split", splits, dtype=pl.String), pl.col("rows").cast(pl.Int64)
        ).select("split", *columns)

    def rows(self) -> RowCounts:
        """Row histograms of every batch."""
        total = RowCounts()
        for _, part in sorted(self._rows, key=lambda item: item[0]):
            total.add(part)
        return total


def class_counts(sums: pl.DataFrame, classes: Sequence[str]) -> pl.DataFrame:
    """Long per-class table (split, class, index, counts): all rows first, then each split.

    The soft mass is rounded to ``MASS_DECIMALS`` decimals, so that the same inputs
    give bit-identical statistics however the input was cut into batches.
    """
    k = len(classes)
    sums = sums if sums.height else empty_sums(k)
    totals = [pl.col(c).sum() for c in sum_columns(k)]
    overall = sums.select(pl.lit(None, dtype=pl.String).alias("split"), *totals)
    per_split = sums.filter(pl.col("split").is_not_null()).group_by("split").agg(totals)
    wide = pl.concat([overall, per_split.sort("split")]) if per_split.height else overall
    return _to_long(wide, classes)


def _to_long(wide: pl.DataFrame, classes: Sequence[str]) -> pl.DataFrame:
    """One row per (row of ``wide``, class), in that order: ``wide`` comes in split order."""
    n, k = wide.height, len(classes)
    block = np.repeat(np.arange(n), k)
    long = pl.DataFrame(
        [
            wide["split"].gather(block),
            pl.Series("class", list(classes), dtype=pl.String).gather(np.tile(np.arange(k), n)),
            pl.Series("index", np.tile(np.arange(k, dtype=np.uint32), n), dtype=pl.UInt32),
            *[
                pl.Series(c, wide.select(f"{c}_{i}" for i in range(k)).to_numpy().reshape(-1))
                for c in COUNT_COLUMNS
            ],
        ]
    )
    return long.with_columns(
        pl.col("soft_mass").cast(pl.Float64).round(MASS_DECIMALS),
        *[pl.col(c).cast(pl.Int64) for c in COUNT_COLUMNS[1:]],
    )


def row_summary(counts: RowCounts) -> dict[str, Any]:
    """Rows by evidence kind, candidate-set sizes, and the target-entropy distribution."""
    by_evidence = {EVIDENCE_NAMES[code]: int(n) for code, n in enumerate(counts.by_evidence) if n}
    return {
        "rows_by_evidence": dict(sorted(by_evidence.items())),
        "candidate_set_size": {str(s): int(n) for s, n in enumerate(counts.by_set_size) if n},
        "target_entropy_bits": _entropy_summary(counts),
    }


def _entropy_summary(counts: RowCounts) -> dict[str, float]:
    rows = counts.total
    if rows == 0:
        return {"mean": 0.0, "p50": 0.0, "p90": 0.0, "max": 0.0}
    cumulative = np.cumsum(counts.by_entropy_bin)
    top = counts.entropy_max

    def quantile(q: float) -> float:
        """Upper edge of the bin holding the q-quantile (within ENTROPY_BIN bits)."""
        hit = int(np.searchsorted(cumulative, math.ceil(q * rows)))
        return round(min((hit + 1) * ENTROPY_BIN, top), 6)

    return {
        "mean": round(counts.entropy_sum / rows, 6),
        "p50": quantile(0.5),
        "p90": quantile(0.9),
        "max": round(top, 6),
    }
