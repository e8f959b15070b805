"""The last step of the streaming pass, run on each batch of checked rows.

Polars computes the checks, targets and masks as wide columns (one per class);
:class:`RowTap` then sees each batch once, before it is written: it keeps the rejected
rows as read (they are checked again afterwards, in memory, to name their reason),
takes the class columns as numpy matrices (:class:`Wide`: one call each, a row per row)
whose bytes become the fixed-size ``soft_target`` and ``mask`` arrays (Polars'
``concat_arr`` of ten columns cost about a tenth of the run), takes the argmax of the
stored float32 targets, counts the class statistics of the accepted rows and notes the
batch's id range. The engine then drops the rejected rows and sinks the rest.

The tap is vectorised work on a whole batch (numpy reductions over the matrices, and
past 64 classes over their nonzero values only), never a loop over rows, and no Python
work per class. Batches hold about :data:`CELLS_PER_BATCH` values (:func:`wide_pass`),
so that memory stays flat at any class count. It lets one pass read, check, write
and count: a second Polars consumer of the same query (an aggregation next to the
sink) buffers rows without bound whenever one side runs ahead of the other. It runs
on Polars' threads, possibly several at once (its bookkeeping is under a lock), so
everything that can stay in the engine does.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from labelprep import interrupts, progress
from labelprep.duplicates import IdRanges
from labelprep.evidence import excluded, mask, target
from labelprep.exactsum import DENSE_COLUMNS
from labelprep.inputs.ingest import FILE, FILE_SHIFT, ROW, SOURCE
from labelprep.stats import BatchStats, RowCounts, class_columns, class_sums, row_counts
from labelprep.targets import EVIDENCE_NAMES, SET_SIZE, evidence_name

REJECT_LIMIT = 2_000_000
"""Rejected rows times classes that the tap keeps (as read): 200,000 rows at K = 10, 2,000
at K = 1000 (a row as read holds a value per class). Past that, the rejects pass re-reads
the input, so memory does not grow with the rejects."""
_REJECT_PIECES = 16
CANONICAL = "__canonical"
_HARD = "hard_index"
EVIDENCE_ENUM = pl.Enum(sorted(set(EVIDENCE_NAMES)))
TEXT_COLUMNS = ("evidence", "hard_label")
"""Text columns built as Enums in the pass (no per-row string work) and declared as
plain strings in the file, so every reader sees strings."""


CELLS_PER_BATCH = 4_000_000
"""Rows x classes of a streaming batch: its rows follow from the class count, so that a
batch takes about the same memory at any K (100,000 rows, Polars' default, up to K = 40;
4,000 at K = 1000, where 10,000-row batches peaked at 2.0 GiB on 300k rows against
1.5 GiB)."""


def batch_rows(k: int) -> int:
    """Rows of a streaming batch at ``k`` classes (:data:`CELLS_PER_BATCH`)."""
    return max(1_000, min(100_000, CELLS_PER_BATCH // max(k, 1)))


@contextmanager
def wide_pass(k: int) -> Iterator[None]:
    """Settings of a pass over the wide per-class columns: batches of :func:`batch_rows`
    rows, and Python's cyclic garbage collector paused (the plan holds hundreds of
    thousands of expression objects at K = 1000, which every full collection walks; the
    pass makes no reference cycles, and reference counting frees each batch at once)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        with pl.Config(streaming_chunk_size=batch_rows(k)):
            yield
    finally:
        if enabled:
            gc.enable()


def tap_inputs(
    k: int, *, has_split: bool, keep: Sequence[str], canonical: Sequence[str]
) -> list[pl.Expr]:
    """The columns the tap reads, selected from the checked frame. ``canonical`` are the
    columns as read (:mod:`labelprep.inputs.ingest`), kept for the rejected rows, but the
    file's name: a string on every row, which ``targets.rechecked`` restores."""
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
        pl.col(SET_SIZE).cast(pl.Int64),
        pl.struct([name for name in canonical if name != SOURCE]).alias(CANONICAL),
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
    :data:`TEXT_COLUMNS` are Enums here; :func:`written_schema` gives the file's types).
    The file's types are those of ``targets_schema`` (:mod:`labelprep.schema`), by
    construction: the tests check every combination of options against it."""
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


def written_schema(schema: dict[str, pl.DataType]) -> pl.Schema:
    """The types of the file for the pass's :func:`output_schema` (as :func:`as_written`
    gives them, without resolving a plan)."""
    return pl.Schema({n: pl.String() if n in TEXT_COLUMNS else t for n, t in schema.items()})


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
            progress.add_rows(batch.height)  # a no-op unless someone is watching
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
        wide = Wide.of(batch, self.k)
        keep = None
        if not ok.all():
            with self._lock:
                self._note_rejects(batch[CANONICAL].filter(~ok))
            keep = ok.to_numpy()
        self.stats.add(first, *self._count(batch, wide, keep))
        return self._output(batch, wide)

    def _note_rejects(self, rows: pl.Series) -> None:
        self.rejected += rows.len()
        if self._rejects is None:
            return
        if self.rejected * max(self.k, 1) > REJECT_LIMIT:
            self._rejects = None
            return
        self._rejects.append(rows)
        if len(self._rejects) >= _REJECT_PIECES:  # one block: many small pieces kept for
            # the whole pass pinned the allocator's pages (peak RSS grew with the rows)
            self._rejects = [pl.concat(self._rejects, rechunk=True)]

    def _count(
        self, batch: pl.DataFrame, wide: Wide, keep: Any
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
        sums = [(v, class_sums(batch, wide, self.k, rows=rows)) for v, rows in groups]
        return sums, self._rows(batch, wide, keep)

    def _rows(self, batch: pl.DataFrame, wide: Wide, keep: Any) -> RowCounts:
        columns = [batch["__evidence"].to_numpy(), batch[SET_SIZE].to_numpy()]
        entropy = entropy_bits(wide.stored)
        files = batch[FILE]
        if keep is not None:
            columns = [c[keep] for c in columns]
            entropy, files = entropy[keep], files.filter(pl.Series(keep))
        return row_counts(files, columns[0], columns[1], entropy)

    def _output(self, batch: pl.DataFrame, wide: Wide) -> pl.DataFrame:
        """Every row of the batch as the columns of the file, plus ``__ok``: the engine
        drops the rejected rows after the tap, in parallel, rather than the tap."""
        index = pl.Series(_HARD, wide.hard, dtype=pl.Int64)
        made = {
            "soft_target": pl.Series("soft_target", wide.stored, dtype=self.schema["soft_target"]),
            "mask": pl.Series("mask", wide.masks, dtype=self.schema["mask"]),
            _HARD: index,
            "hard_label": self.classes.gather(index).alias("hard_label"),
        }
        if self.weights is not None:
            weighted = np.zeros(batch.height)
            for i, w in enumerate(self.weights):
                weighted += wide.targets[:, i] * w
            made["sample_weight"] = pl.Series("sample_weight", weighted, dtype=pl.Float32)
        names = (*self.schema, "__ok")
        return pl.DataFrame([made[name] if name in made else batch[name] for name in names])


@dataclass(frozen=True)
class Wide:
    """The per-class columns of a batch as numpy matrices (a row per row, a column per
    class): each built once, in one call, and shared by the output and the counting."""

    targets: Any
    """``__t{i}``: the targets as computed (Float64, column-major; NaN where null)."""
    stored: Any
    """The targets as written (Float32, row-major: the bytes of ``soft_target``)."""
    masks: Any
    """``__m{i}`` (null as False, row-major: the bytes of ``mask``)."""
    hard: Any
    """Index of each row's largest stored target; ties go to the first (lowest) class."""
    masks_by_class: Any
    """:attr:`masks`, column-major: a per-class count is a contiguous sweep."""

    @staticmethod
    def of(batch: pl.DataFrame, k: int) -> Wide:
        targets = batch.select(pl.col(class_columns("__t", k))).to_numpy(order="fortran")
        stored = np.empty(targets.shape, dtype=np.float32)
        stored[...] = targets  # cast to float32 (round to nearest) and lay out by row
        masks = batch.select(pl.col(class_columns("__m", k)).fill_null(False))
        by_class = masks.to_numpy(order="fortran")
        hard = stored.argmax(axis=1) if k else np.zeros(batch.height, dtype=np.int64)
        return Wide(
            targets, stored, np.ascontiguousarray(by_class), hard.astype(np.int64), by_class
        )


def entropy_bits(stored: Any) -> Any:
    """Entropy in bits of each row of ``stored`` (0 log 0 = 0), its terms added in class
    order. A zero adds nothing (its term is -0.0), so at many classes only the nonzero
    values are visited: the same bits, far less work on sparse targets."""
    n, k = stored.shape
    tiny = np.float32(np.finfo(np.float32).tiny)
    entropy = np.zeros(n, dtype=np.float64)
    if k <= DENSE_COLUMNS:
        for start in range(0, n, _BLOCK):  # small temporaries, reused by the allocator
            part, total = stored[start : start + _BLOCK], entropy[start : start + _BLOCK]
            terms = np.maximum(part, tiny)
            np.log2(terms, out=terms)
            terms *= part
            for i in range(k):
                total -= terms[:, i]
    else:
        cells = np.flatnonzero(stored.reshape(-1) != 0)  # row by row, classes in order
        values = stored.reshape(-1)[cells]
        terms = values * np.log2(np.maximum(values, tiny))
        # in index order, so in class order within a row; float64 terms (exact) take
        # numpy's fast path
        np.subtract.at(entropy, cells // k, terms.astype(np.float64))
    return np.maximum(entropy, 0.0)


_BLOCK = 1 << 13  # rows
