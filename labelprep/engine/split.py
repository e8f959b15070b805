"""How a run is cut into tasks, and the frame each task reads.

A task is one part of the prepared run (:attr:`labelprep.pipeline.Prepared.parts`: one
plain input file, or the aggregated votes) or, for a Parquet file of more than
``rows_per_task`` rows, a run of its consecutive row groups. A task's rows are
``part.slice(offset, length)``: the row number is taken before the slice, so every
row (and every reject) keeps its true file and line. Tasks are numbered in input
order; everything the driver merges, it merges in that order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import polars as pl

from labelprep.errors import InputError
from labelprep.inputs.ingest import InputFile
from labelprep.pipeline import Prepared
from labelprep.stores import parquet_metadata


@dataclass(frozen=True)
class Task:
    """One slice of the input: rows ``offset`` to ``offset + length`` of part ``part``."""

    index: int
    part: int
    offset: int = 0
    length: int | None = None
    """None: to the end of the part."""


@dataclass(frozen=True)
class Context:
    """What every task needs, sent once to each worker: the run without its data."""

    prepared: Prepared
    """The prepared run, its ``frame`` emptied (each task reads its own slice)."""
    schema: pl.Schema
    """The columns of the whole canonical frame, which every slice is given."""


def context(prepared: Prepared) -> Context:
    """The context of a prepared run (its canonical frame replaced by an empty plan)."""
    schema = prepared.frame.collect_schema()
    empty = pl.LazyFrame(schema=schema)
    return Context(prepared=replace(prepared, frame=empty), schema=schema)


def task_frame(ctx: Context, task: Task) -> pl.LazyFrame:
    """The canonical rows of one task, with the columns and types of the whole frame
    (as :func:`polars.concat` with ``how="diagonal_relaxed"`` gives them)."""
    part = ctx.prepared.parts[task.part]
    if task.offset or task.length is not None:
        part = part.slice(task.offset, task.length)
    present = part.collect_schema()
    return part.select(
        pl.col(name).cast(dtype) if name in present else pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in ctx.schema.items()
    )


def with_task_frame(ctx: Context, task: Task) -> Prepared:
    """The prepared run restricted to one task's rows."""
    return replace(ctx.prepared, frame=task_frame(ctx, task), parts=())


def plan_tasks(prepared: Prepared, rows_per_task: int) -> list[Task]:
    """The tasks of a run, in input order (see the module docstring)."""
    plain = [s for s in prepared.sources if s.index not in prepared.vote_files]
    tasks: list[Task] = []
    for part in range(len(prepared.parts)):
        source = plain[part] if part < len(plain) else None
        for offset, length in _ranges(source, rows_per_task):
            tasks.append(Task(len(tasks), part, offset, length))
    return tasks


def _ranges(source: InputFile | None, rows_per_task: int) -> list[tuple[int, int | None]]:
    """(offset, length) of each slice of one part: whole, or runs of row groups."""
    if source is None or source.format != "parquet":
        return [(0, None)]
    try:
        meta = parquet_metadata(source.read_path or source.path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise InputError(f"{source.path}: cannot read its Parquet metadata: {exc}") from exc
    groups = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    return group_ranges(groups, rows_per_task)


def group_ranges(group_rows: Sequence[int], rows_per_task: int) -> list[tuple[int, int | None]]:
    """Consecutive row groups joined into slices of at least ``rows_per_task`` rows (the
    last one may be smaller); one slice, the whole file, when it is small.

    >>> group_ranges([4, 4, 4, 4, 2], 8)
    [(0, 8), (8, 8), (16, None)]
    >>> group_ranges([4, 4, 4, 4], 8)
    [(0, 8), (8, None)]
    >>> group_ranges([4, 4], 100)
    [(0, None)]
    """
    ranges: list[tuple[int, int | None]] = []
    start = rows = 0
    for n in group_rows:
        rows += n
        if rows >= rows_per_task:
            ranges.append((start, rows))
            start, rows = start + rows, 0
    if rows or not ranges:
        ranges.append((start, None))
    elif ranges:
        ranges[-1] = (ranges[-1][0], None)
    return ranges
