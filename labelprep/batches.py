"""The last step of the streaming pass, run on each batch of checked rows.

Polars computes the checks, targets and masks as wide columns (one per class);
:class:`RowTap` then sees each batch once, before it is written: it keeps the rejected
rows as read (they are checked again afterwards, in memory, to name their reason),
stacks the classes into the fixed-size ``soft_target`` and ``mask`` arrays (a numpy
copy of the batch: Polars' ``concat_arr`` of ten columns cost about a tenth of the
run), takes the argmax of the stored float32 targets, counts the class statistics of
the accepted rows and notes the batch's id range. The engine then drops the rejected
rows and sinks the rest.

The tap is vectorised work on a whole batch (numpy reductions and Polars bitmap counts
over the class columns), never a loop over rows. It lets one pass read, check, write
and count: a second Polars consumer of the same query (an aggregation next to the
sink) buffers rows without bound whenever one side runs ahead of the other. It runs
on Polars' threads, possibly several at once (its bookkeeping is under a lock), so
everything that can stay in the engine does.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from labelprep import interrupts
from labelprep.duplicates import IdRanges
from labelprep.evidence import excluded, mask, target
from labelprep.inputs.ingest import FILE, FILE_SHIFT, ROW
from labelprep.stats import BatchStats, RowCounts, class_sums, row_counts
from labelprep.targets import EVIDENCE_NAMES, evidence_name

REJECT_LIMIT = 200_000
"""Rejected rows the tap keeps (as read); past that, the rejects pass re-reads the input."""
CANONICAL = "__canonical"
_HARD = "hard_index"
EVIDENCE_ENUM = pl.Enum(sorted(set(EVIDENCE_NAMES)))
TEXT_COLUMNS = ("evidence", "hard_label")
"""Text columns built as Enums in the pass (no per-row string work) and declared as
plain strings in the file, so every reader sees strings."""


def tap_inputs(
    k: int, *, has_split: bool, keep: Sequence[str], canonical: Sequence[str]
) -> list[pl.Expr]:
    """The columns the tap reads, selected from the checked frame. ``canonical`` are the
    columns as read (:mod:`labelprep.inputs.ingest`), kept for the rejected rows."""
    split = pl.col("split") if has_split else pl.lit(None, dtype=pl.String).alias("split")
    return [
        pl.col("id"),
        evidence_name(pl.col("__evidence"), dtype=EVIDENCE_ENUM).alias("evidence"),
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
        pl.sum_horizontal([mask(i) for i in range(k)]).cast(pl.Int64).alias("__set_size"),
        pl.struct(canonical).alias(CANONICAL),
    ]


def output_schema(
    id_type: pl.DataType,
    classes: Sequence[str],
    *,
    has_split: bool,
    keep: dict[str, pl.DataType],
    sample_weight: bool,
) -> dict[str, pl.DataType]:
    """Columns and types of ``targets.parquet`` as the pass builds them, in order (the
    :data:`TEXT_COLUMNS` are Enums here; :func:`as_written` gives the file's types)."""
    k = len(classes)
    schema: dict[str, pl.DataType] = {
        "id": id_type,
        "soft_target": pl.Array(pl.Float32, k),
        "mask": pl.Array(pl.Boolean, k),
        "evidence": EVIDENCE_ENUM,
        "hard_label": pl.Enum(classes),
        "hard_index": pl.Int64(),
    }
    if sample_weight:
        schema["sample_weight"] = pl.Float32()
    if has_split:
        schema["split"] = pl.String()
    schema.update(keep)
    return schema


def as_written(rows: pl.LazyFrame) -> pl.LazyFrame:
    """The pass's rows with the types of the file (a plan-only view, for checks)."""
    return rows.with_columns(pl.col(TEXT_COLUMNS).cast(pl.String))


class RowTap:
    """Called by Polars on every batch (``LazyFrame.map_batches``); keeps what it saw.

    After the pass: :attr:`stats` holds the class statistics of the accepted rows,
    :attr:`rejected` the number of rejected rows, :meth:`rejected_rows` the rows, and
    :attr:`ids` whether the ids were seen to be unique.
    """

    def __init__(
        self,
        classes: Sequence[str],
        schema: dict[str, pl.DataType],
        *,
        sample_weights: Sequence[float] | None = None,
    ) -> None:
        self.classes = pl.Series(list(classes), dtype=schema["hard_label"])
        self.k = len(classes)
        self.schema = schema
        self.weights = sample_weights
        self.stats = BatchStats(self.k)
        self.ids = IdRanges()
        self.rejected = 0
        self._rejects: list[pl.Series] | None = []
        self.error: BaseException | None = None
        self._lock = threading.Lock()

    def rejected_rows(self) -> pl.DataFrame | None:
        """The rejected rows as read (canonical columns), or None past :data:`REJECT_LIMIT`."""
        if self._rejects is None or not self._rejects:
            return None if self._rejects is None else pl.DataFrame()
        return pl.concat(self._rejects).struct.unnest()

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        try:
            interrupts.check()  # an interrupted run stops here, at the next batch
            return self._process(batch)
        except BaseException as exc:  # Polars reports it as a bare ComputeError
            self.error = exc
            raise

    def _process(self, batch: pl.DataFrame) -> pl.DataFrame:
        if batch.height == 0:
            return pl.DataFrame(schema={**self.schema, "__ok": pl.Boolean()})
        first = int(batch[FILE][0]) * FILE_SHIFT + int(batch[ROW][0])
        with self._lock:  # Polars may call the tap on several threads at once
            self.ids.add(batch["id"])
        ok = batch["__ok"]
        stored = [batch[f"__t{i}"].to_numpy().astype(np.float32) for i in range(self.k)]
        hard = _argmax(stored, batch.height)
        keep = None
        if not ok.all():
            with self._lock:
                self._note_rejects(batch[CANONICAL].filter(~ok))
            keep = ok.to_numpy()
        self.stats.add(first, *self._count(batch, stored, hard, keep))
        return self._output(batch, stored, hard)

    def _note_rejects(self, rows: pl.Series) -> None:
        self.rejected += rows.len()
        if self._rejects is None:
            return
        if self.rejected > REJECT_LIMIT:
            self._rejects = None
        else:
            self._rejects.append(rows)

    def _count(
        self, batch: pl.DataFrame, stored: Sequence[Any], hard: Any, keep: Any
    ) -> tuple[list[tuple[str | None, Any]], RowCounts]:
        """(per-class sums by split, row histograms) of the accepted rows (``keep``;
        None when every row is accepted)."""
        split = batch["split"]
        if split.null_count() == batch.height or split.n_unique() == 1:
            groups = [(split[0], keep)]
        else:
            groups = []
            for value in split.unique(maintain_order=True):
                rows = (split == value).fill_null(False) if value is not None else split.is_null()
                chosen = rows.to_numpy()
                groups.append((value, chosen if keep is None else chosen & keep))
        sums = [(v, class_sums(batch, stored, hard, self.k, rows=rows)) for v, rows in groups]
        return sums, self._rows(batch, stored, keep)

    def _rows(self, batch: pl.DataFrame, stored: Sequence[Any], keep: Any) -> RowCounts:
        columns = [batch["__evidence"].to_numpy(), batch["__set_size"].to_numpy()]
        entropy = _entropy_bits(stored, batch.height)
        files = batch[FILE]
        if keep is not None:
            columns = [c[keep] for c in columns]
            entropy, files = entropy[keep], files.filter(pl.Series(keep))
        return row_counts(files, columns[0], columns[1], entropy)

    def _output(self, batch: pl.DataFrame, stored: Sequence[Any], hard: Any) -> pl.DataFrame:
        """Every row of the batch as the columns of the file, plus ``__ok``: the engine
        drops the rejected rows after the tap, in parallel, rather than the tap."""
        index = pl.Series(_HARD, hard, dtype=pl.Int64)
        masks = [_bools(batch[f"__m{i}"]) for i in range(self.k)]
        made = {
            "soft_target": pl.Series(
                "soft_target",
                _stacked(stored, np.float32, batch.height),
                dtype=self.schema["soft_target"],
            ),
            "mask": pl.Series(
                "mask", _stacked(masks, np.bool_, batch.height), dtype=self.schema["mask"]
            ),
            _HARD: index,
            "hard_label": self.classes.gather(index).alias("hard_label"),
        }
        if self.weights is not None:
            weighted = np.zeros(batch.height)
            for i, w in enumerate(self.weights):
                weighted += batch[f"__t{i}"].to_numpy() * w
            made["sample_weight"] = pl.Series("sample_weight", weighted, dtype=pl.Float32)
        names = (*self.schema, "__ok")
        return pl.DataFrame([made[name] if name in made else batch[name] for name in names])


def _bools(column: pl.Series) -> Any:
    return (column.fill_null(False) if column.null_count() else column).to_numpy()


def _stacked(columns: Sequence[Any], dtype: Any, n: int) -> Any:
    """Per-class columns -> one row-major (n, K) array."""
    out = np.empty((n, len(columns)), dtype=dtype)
    for i, column in enumerate(columns):
        out[:, i] = column
    return out


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
