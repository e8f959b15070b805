"""The last step of the streaming pass, run on each batch of checked rows.

Polars computes the checks, targets and masks as wide columns (one per class) and
stacks them into the fixed-size ``soft_target`` and ``mask`` arrays; :class:`RowTap`
then sees each batch once, before it is written: it notes where the rejected rows
are (a second pass describes just those), takes the argmax of the stored float32
targets, and counts the class statistics of the accepted rows.

The tap is vectorised work on a whole batch (Polars aggregations and numpy over
the class columns), never a loop over rows. It lets one pass read, check, write and
count: a second Polars consumer of the same query (an aggregation next to the sink)
buffers rows without bound whenever one side runs ahead of the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from labelprep.ingest import FILE, ROW
from labelprep.stats import BatchStats, RowCounts, class_sums, row_counts
from labelprep.targets import evidence_name, excluded, mask, target

POSITION_LIMIT = 1_000_000
"""Rejected rows whose positions are kept; past that, the rejects pass re-checks every row."""
FIRST_ROW_SHIFT = 1 << 40  # a row's position in the whole input: file << 40 | row
_HARD = "hard_index"


def tap_inputs(k: int, *, has_split: bool, keep: Sequence[str]) -> list[pl.Expr]:
    """The columns the tap reads, selected from the checked frame."""
    split = pl.col("split") if has_split else pl.lit(None, dtype=pl.String).alias("split")
    return [
        pl.col("id"),
        pl.concat_arr([target(i).cast(pl.Float32) for i in range(k)]).alias("soft_target"),
        pl.concat_arr([mask(i) for i in range(k)]).alias("mask"),
        evidence_name(pl.col("__evidence")).alias("evidence"),
        split,
        *[pl.col(name) for name in keep],
        pl.col("__ok"),
        pl.col(FILE),
        pl.col(ROW),
        pl.col("__evidence"),
        pl.col("__y"),
        *[target(i) for i in range(k)],
        *[mask(i) for i in range(k)],
        *[excluded(i) for i in range(k)],
    ]


def output_schema(
    id_type: pl.DataType,
    k: int,
    *,
    has_split: bool,
    keep: dict[str, pl.DataType],
    sample_weight: bool,
) -> dict[str, pl.DataType]:
    """Columns and types of ``targets.parquet``, in order."""
    schema: dict[str, pl.DataType] = {
        "id": id_type,
        "soft_target": pl.Array(pl.Float32, k),
        "mask": pl.Array(pl.Boolean, k),
        "evidence": pl.String(),
        "hard_label": pl.String(),
        "hard_index": pl.Int64(),
    }
    if sample_weight:
        schema["sample_weight"] = pl.Float32()
    if has_split:
        schema["split"] = pl.String()
    schema.update(keep)
    return schema


class RowTap:
    """Called by Polars on every batch (``LazyFrame.map_batches``); keeps what it saw.

    After the pass: :attr:`stats` holds the class statistics of the accepted rows,
    :attr:`rejected` the number of rejected rows and :meth:`positions` where they are.
    """

    def __init__(
        self,
        classes: Sequence[str],
        schema: dict[str, pl.DataType],
        *,
        sample_weights: Sequence[float] | None = None,
    ) -> None:
        self.classes = pl.Series(list(classes), dtype=pl.String)
        self.k = len(classes)
        self.schema = schema
        self.weights = sample_weights
        self.stats = BatchStats(self.k)
        self.rejected = 0
        self._positions: list[pl.DataFrame] | None = []
        self.error: BaseException | None = None

    def positions(self) -> pl.DataFrame | None:
        """(``__file``, ``__row``) of every rejected row, or None past :data:`POSITION_LIMIT`."""
        if self._positions is None:
            return None
        if not self._positions:
            return pl.DataFrame(schema={FILE: pl.Int64, ROW: pl.Int64})
        return pl.concat(self._positions)

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        try:
            return self._process(batch)
        except BaseException as exc:  # Polars reports it as a bare ComputeError
            self.error = exc
            raise

    def _process(self, batch: pl.DataFrame) -> pl.DataFrame:
        if batch.height == 0:
            return pl.DataFrame(schema={**self.schema, "__ok": pl.Boolean()})
        first = int(batch[FILE][0]) * FIRST_ROW_SHIFT + int(batch[ROW][0])
        ok = batch["__ok"]
        stored = [batch[f"__t{i}"].to_numpy().astype(np.float32) for i in range(self.k)]
        hard = pl.Series(_HARD, _argmax(stored, batch.height), dtype=pl.Int64)
        batch = batch.with_columns(hard)
        if ok.all():
            self.stats.add(first, *self._count(batch, stored))
        else:
            self._note_rejects(batch.filter(~ok).select(FILE, ROW))
            keep = ok.to_numpy()
            accepted = batch.select(self._stat_columns).filter(ok)
            self.stats.add(first, *self._count(accepted, [c[keep] for c in stored]))
        return self._output(batch)

    @property
    def _stat_columns(self) -> list[str]:
        per_class = [f"__{kind}{i}" for kind in "tme" for i in range(self.k)]
        return [FILE, "split", "__evidence", "__y", _HARD, *per_class]

    def _note_rejects(self, rows: pl.DataFrame) -> None:
        self.rejected += rows.height
        if self._positions is None:
            return
        if self.rejected > POSITION_LIMIT:
            self._positions = None
        else:
            self._positions.append(rows)

    def _count(self, batch: pl.DataFrame, stored: Sequence[Any]) -> tuple[pl.DataFrame, Any]:
        """(per-class sums by split, row histograms) of accepted rows."""
        if batch["split"].null_count() == batch.height or batch["split"].n_unique() == 1:
            sums = class_sums(batch, self.k, split=batch["split"][0] if batch.height else None)
        else:
            parts = batch.partition_by("split", maintain_order=True)
            sums = pl.concat([class_sums(p, self.k, split=p["split"][0]) for p in parts])
        return sums, self._rows(batch, stored)

    def _rows(self, batch: pl.DataFrame, stored: Sequence[Any]) -> RowCounts:
        size = np.zeros(batch.height, dtype=np.int64)
        for i in range(self.k):
            size += batch[f"__m{i}"].to_numpy()
        return row_counts(
            batch[FILE],
            batch["__evidence"].to_numpy().astype(np.int64),
            size,
            _entropy_bits(stored, batch.height),
        )

    def _output(self, batch: pl.DataFrame) -> pl.DataFrame:
        extra: list[pl.Series | pl.Expr] = [self.classes.gather(batch[_HARD]).alias("hard_label")]
        if self.weights is not None:
            weighted = [target(i) * w for i, w in enumerate(self.weights)]
            extra.append(pl.sum_horizontal(weighted).cast(pl.Float32).alias("sample_weight"))
        return batch.with_columns(extra).select(*self.schema, "__ok")


def _argmax(columns: Sequence[Any], n: int) -> Any:
    """Index of the largest value per row; ties go to the first (lowest) class."""
    if not columns:
        return np.zeros(n, dtype=np.int64)
    best = columns[0].copy()
    index = np.zeros(n, dtype=np.int64)
    greater = np.empty(n, dtype=np.bool_)
    for i, column in enumerate(columns[1:], start=1):
        np.greater(column, best, out=greater)
        np.copyto(index, i, where=greater)
        np.maximum(best, column, out=best)
    return index


def _entropy_bits(columns: Sequence[Any], n: int) -> Any:
    """Entropy in bits of each row's stored target (0 log 0 = 0)."""
    entropy = np.zeros(n, dtype=np.float64)
    tiny = np.float32(np.finfo(np.float32).tiny)
    for column in columns:
        entropy -= column * np.log2(np.maximum(column, tiny))
    return np.maximum(entropy, 0.0)
