"""Duplicate ids, found in a pass of their own so the main pass stays streaming.

An exact "seen this id before?" over the whole input cannot run in constant memory;
Polars' ``is_first_distinct`` would hold every column of the frame around it. So a
first pass reads only the id column, keeps a 64-bit hash per row (8 bytes a row),
sorts the hashes and looks up the few ids whose hash repeats; the main pass then
only asks "is this id one of those, and is this not its first row?".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from labelprep.ingest import PRE_REASON, collect_all, ordinal

_SEED = 0x1AB31


@dataclass(frozen=True)
class DuplicateIds:
    """Ids that occur on more than one row, and the ordinal of the row that keeps each."""

    ids: pl.Series
    firsts: pl.Series

    @property
    def empty(self) -> bool:
        return self.ids.len() == 0

    def later_rows(self) -> pl.Expr:
        """True on a row whose id appeared on an earlier row."""
        if self.empty:
            return pl.lit(False)
        return pl.col("id").is_in(self.ids.implode()) & ~ordinal().is_in(self.firsts.implode())


def _keyed(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Rows that own their id: not null, not rejected at ingest (votes)."""
    return frame.filter(pl.col("id").is_not_null() & pl.col(PRE_REASON).is_null())


def find_duplicate_ids(frame: pl.LazyFrame) -> DuplicateIds:
    """Scan the ids of a canonical frame and return the repeated ones (usually none)."""
    keyed = _keyed(frame)
    column = collect_all([keyed.select(pl.col("id").hash(_SEED))])[0].to_series()
    hashes = column.sort().to_numpy()  # Polars sorts on every core
    repeated = np.unique(hashes[1:][hashes[1:] == hashes[:-1]])
    if repeated.size:
        candidates = keyed.filter(pl.col("id").hash(_SEED).is_in(pl.Series(repeated).implode()))
        found = collect_all(
            [
                candidates.group_by("id")
                .agg(pl.len().alias("rows"), ordinal().min().alias("first"))
                .filter(pl.col("rows") > 1)
                .sort("first")
            ]
        )[0]
    else:
        id_type = frame.collect_schema()["id"]
        found = pl.DataFrame(schema={"id": id_type, "first": pl.Int64})
    return DuplicateIds(ids=found["id"], firsts=found["first"])
