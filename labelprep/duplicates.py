"""Duplicate ids, found without holding the input in memory.

An exact "seen this id before?" over the whole input cannot run in constant memory;
Polars' ``is_first_distinct`` would hold every column of the frame around it.

Most inputs have unique ids, and most of those have them in increasing order. So the
main pass assumes no repeats and notes, per batch, the id range and whether the ids
increase (:class:`IdRanges`); increasing batches with disjoint ranges prove the ids
unique. Otherwise :func:`find_duplicate_ids` reads only the id column, keeps a
64-bit hash per row (8 bytes a row), sorts the hashes and looks up the few ids whose
hash repeats; if there are any, the main pass runs again knowing them, and asks
"is this id one of those, and is this not its first row?".
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import polars as pl

from labelprep.inputs.ingest import PRE_REASON, collect_all, ordinal

_SEED = 0x1AB31


@dataclass(frozen=True)
class DuplicateIds:
    """Ids that occur on more than one row, and the ordinal of the row that keeps each."""

    ids: pl.Series
    firsts: pl.Series

    @property
    def empty(self) -> bool:
        return self.ids.len() == 0

    @classmethod
    def none(cls, id_type: pl.DataType) -> DuplicateIds:
        """No repeated id (assumed until a pass shows otherwise)."""
        return cls(ids=pl.Series("id", [], dtype=id_type), firsts=pl.Series([], dtype=pl.Int64))

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


class IdRanges:
    """Per batch of the main pass: the smallest and largest id, and whether the ids
    strictly increase. Enough to prove that ids are unique in the common case."""

    def __init__(self) -> None:
        self._ranges: list[tuple[Any, Any]] = []
        self.increasing = True

    def add(self, ids: pl.Series) -> None:
        """Note the ids of one batch (nulls are ignored: they are rejected anyway)."""
        ids = ids.drop_nulls()
        if ids.len() == 0 or not self.increasing:
            return
        if ids.len() > 1 and not bool((ids.slice(1) > ids.slice(0, ids.len() - 1)).all()):
            self.increasing = False
            return
        self._ranges.append((ids[0], ids[-1]))

    def unique(self) -> bool:
        """True when the ids are proven unique (False means: not proven)."""
        if not self.increasing:
            return False
        ranges = sorted(self._ranges)
        return all(prev[1] < nxt[0] for prev, nxt in pairwise(ranges))
