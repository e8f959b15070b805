"""What a worker runs on one task's rows: the local engine's own functions on a slice.

Every function takes the run's :class:`~labelprep.engine.split.Context` and a
:class:`~labelprep.engine.split.Task` and returns a small, mergeable result (hashes,
counts in exact integer units, a few sample rows); only :func:`main_pass` writes, and
it writes its two part files under temporary names, then renames them: a task run
again (its worker died) replaces its own parts, so no row is written twice.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from labelprep.engine.split import Context, Task, with_task_frame
from labelprep.inputs.ingest import FILE, PRE_REASON, collect_all, ordinal
from labelprep.pipeline import Prepared, rejected_rows, sink, stream
from labelprep.prior import prior_units
from labelprep.rejects import REJECT_COLUMNS, reject_rows
from labelprep.stats import RowCounts
from labelprep.summary import count_fallbacks
from labelprep.targets import accepted, build_targets

SEED = 0x5EED
"""Seed of the id hashes: they only route ids to buckets and pre-select candidates."""
TMP_DIR = ".parts-tmp"
"""Where parts are written before their rename (inside the staging directory)."""
Hashes = npt.NDArray[np.uint64]


def part_name(index: int) -> str:
    """``part-00000.parquet``: the file of task ``index`` (sorts in task order)."""
    return f"part-{index:05d}.parquet"


def _keyed(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Rows that own their id (as :func:`labelprep.duplicates.find_duplicate_ids`)."""
    return frame.filter(pl.col("id").is_not_null() & pl.col(PRE_REASON).is_null())


def id_buckets(ctx: Context, task: Task, buckets: int) -> list[Hashes]:
    """The task's id hashes, split into ``buckets`` by hash (the map of the id shuffle)."""
    frame = with_task_frame(ctx, task).frame
    query = _keyed(frame).select(pl.col("id").hash(SEED))
    hashes = collect_all([query])[0].to_series().to_numpy()
    bucket = hashes % np.uint64(buckets)
    return [np.sort(hashes[bucket == b]) for b in range(buckets)]


def repeated_hashes(*pieces: Hashes) -> Hashes:
    """The hashes of one bucket seen more than once (the reduce of the id shuffle)."""
    hashes = np.sort(np.concatenate(pieces)) if pieces else np.zeros(0, np.uint64)
    return np.unique(hashes[1:][hashes[1:] == hashes[:-1]])


def id_firsts(ctx: Context, task: Task, repeated: Hashes) -> pl.DataFrame:
    """Per id whose hash repeats: its rows in this task and the ordinal of its first."""
    keyed = _keyed(with_task_frame(ctx, task).frame)
    query = (
        keyed.filter(pl.col("id").hash(SEED).is_in(pl.Series(repeated).implode()))
        .group_by("id")
        .agg(pl.len().cast(pl.Int64).alias("rows"), ordinal().min().alias("first"))
    )
    return collect_all([query])[0]


def prior_part(ctx: Context, task: Task) -> pl.DataFrame:
    """The task's share of the prior of ``partial="prior"``, in exact units."""
    prepared = with_task_frame(ctx, task)
    rows = accepted(build_targets(prepared.frame, prepared.plan))
    return collect_all([prior_units(rows, len(prepared.classes))])[0]


@dataclass(frozen=True)
class Partial:
    """What one task of the main pass counted."""

    units: list[tuple[str | None, list[int]]]
    """Per-class sums by split, exact (:meth:`labelprep.stats.BatchStats.units`)."""
    rows: RowCounts
    rejects: pl.DataFrame
    """``__file``, ``reason``, ``rows``."""
    samples: pl.DataFrame
    """The first rejected rows of each reason (:data:`REJECT_COLUMNS`)."""
    fallbacks: dict[str, int] = field(default_factory=dict)


def main_pass(
    ctx: Context,
    task: Task,
    folder: str | None,
    *,
    weights: Sequence[float] | None = None,
    samples: int = 0,
) -> Partial:
    """The main pass over one task's rows; with ``folder``, its targets and rejects are
    written to ``folder/targets/part-N.parquet`` and ``folder/rejects/part-N.parquet``."""
    prepared = with_task_frame(ctx, task)
    if folder is not None:
        return _write_parts(prepared, task, Path(folder), weights, samples)
    prepared, tap = stream(prepared, sample_weights=weights)
    rejects = reject_rows(rejected_rows(prepared, tap), prepared.plan, keep=(FILE,))
    return _partial(prepared, tap.stats.units(), tap.stats.rows(), rejects, samples)


def _write_parts(
    prepared: Prepared,
    task: Task,
    folder: Path,
    weights: Sequence[float] | None,
    samples: int,
) -> Partial:
    tmp = folder / TMP_DIR / uuid.uuid4().hex
    tmp.mkdir()  # not its parents: a run that has failed has removed them, and stays removed
    prepared, tap = stream(prepared, tmp / "targets", sample_weights=weights)
    metadata = {"labelprep.classes": json.dumps(list(prepared.classes))}
    rejects = reject_rows(rejected_rows(prepared, tap), prepared.plan)
    sink(rejects, tmp / "rejects", metadata=metadata, compression=prepared.options.compression)
    for kind in ("targets", "rejects"):
        os.replace(tmp / kind, folder / kind / part_name(task.index))
    tmp.rmdir()
    files = {source.path: source.index for source in prepared.sources}
    written = pl.scan_parquet(folder / "rejects" / part_name(task.index)).with_columns(
        pl.col("source").replace_strict(files, return_dtype=pl.Int64).alias(FILE)
    )
    return _partial(prepared, tap.stats.units(), tap.stats.rows(), written, samples)


def _partial(
    prepared: Prepared,
    units: list[tuple[str | None, list[int]]],
    rows: RowCounts,
    rejected: pl.LazyFrame,
    samples: int,
) -> Partial:
    """A task's result from its counts and its rejected rows (``__file`` and the
    :data:`REJECT_COLUMNS`, in row order)."""
    counts = rejected.group_by(FILE, "reason", maintain_order=True).agg(
        pl.len().cast(pl.Int64).alias("rows")
    )
    first = rejected.group_by("reason", maintain_order=True).head(samples).select(REJECT_COLUMNS)
    by_reason, heads = collect_all([counts, first])
    uniform = prepared.prior is not None and prepared.prior.source == "uniform"
    fallbacks = count_fallbacks(
        build_targets(prepared.frame, prepared.plan), prepared.plan, prior_is_uniform=uniform
    )
    return Partial(units, rows, by_reason, heads, fallbacks)
