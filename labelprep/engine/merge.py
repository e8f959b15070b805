"""Adding the tasks' results up, always in task order, so that the result does not
depend on which worker ran what or when, and equals the local engine's.

Soft masses and prior sums travel as exact integers (2**-64 units), so their totals are
the same however the input was cut; rejects and samples are concatenated in task
order, which is input order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from labelprep.duplicates import DuplicateIds
from labelprep.engine.tasks import Partial
from labelprep.inputs.ingest import FILE
from labelprep.pipeline import Counts
from labelprep.prior import units_to_sum
from labelprep.rejects import REJECT_COLUMNS
from labelprep.stats import BatchStats


def duplicate_ids(found: Sequence[pl.DataFrame], id_type: pl.DataType) -> DuplicateIds:
    """The repeated ids from every task's ``id``, ``rows``, ``first`` (ids whose hash
    repeats): those on more than one row, and the ordinal of the row that keeps each."""
    if not found:
        return DuplicateIds.none(id_type)
    table = (
        pl.concat(found)
        .group_by("id")
        .agg(pl.col("rows").sum(), pl.col("first").min())
        .filter(pl.col("rows") > 1)
        .sort("first")
    )
    return DuplicateIds(ids=table["id"].cast(id_type), firsts=table["first"])


def prior_sums(parts: Sequence[pl.DataFrame], k: int) -> pl.DataFrame:
    """The groups of :func:`labelprep.prior.prior_sums` from every task's exact units."""
    sums = [f"s{i}" for i in range(k)]
    rows_type = parts[0].schema["rows"] if parts else pl.UInt32()
    table = (
        pl.concat(parts)
        .group_by("labelled", "fold")
        .agg(pl.col("rows").sum().cast(rows_type), *[pl.col(s).sum() for s in sums])
        .sort("labelled", "fold")
    )
    return table.with_columns(units_to_sum(pl.col(s)) for s in sums)


def counts(partials: Sequence[Partial], k: int) -> Counts:
    """The run's counts: class sums, row histograms, rejects by file and reason."""
    stats = BatchStats(k)
    fallbacks: dict[str, int] = {}
    for index, part in enumerate(partials):
        stats.add(index, part.units, part.rows)
        for name, n in part.fallbacks.items():
            fallbacks[name] = fallbacks.get(name, 0) + n
    rejects = (
        pl.concat([p.rejects for p in partials])
        .group_by(FILE, "reason", maintain_order=True)
        .agg(pl.col("rows").sum())
    )
    return Counts(stats.sums(), stats.rows(), rejects, fallbacks)


def samples(partials: Sequence[Partial], per_reason: int) -> pl.DataFrame:
    """The first ``per_reason`` rejected rows of each reason, in input order."""
    return (
        pl.concat([p.samples for p in partials], how="vertical_relaxed")
        .group_by("reason", maintain_order=True)
        .head(per_reason)
        .select(REJECT_COLUMNS)
    )


def bucket_count(workers: int) -> int:
    """Buckets of the id shuffle: one per worker (at least one)."""
    return int(np.clip(workers, 1, 64))
