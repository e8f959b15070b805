"""Votes as integer codes: the checks and the encoding of :mod:`labelprep.votes`, done on
integer ranks rather than on text.

Ids, annotators and labels keep the type they are read with when it is an integer (as
``Int64``) and are text otherwise, so a large vote file is never turned into strings (only
the distinct labels, the items and the annotators are). Every vote gets the dense rank of
its id and of its annotator (one sort of each column), and the pair ``(id, annotator)`` is
one integer made of the two: repeats are found on that integer, and items and annotators
are numbered in order of first appearance through a lookup table indexed by rank. What is
decided is what the text would decide: a label's class is the class its text names
(``str(value)``, stripped), and ids and annotators are told apart by value.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import polars as pl

from labelprep.aggregation import EncodedVotes
from labelprep.aggregation._encoded import IntArray
from labelprep.inputs.ingest import FILE, PRE_REASON, ROW, SOURCE

ID_RANK = "__id_rank"
ANNOTATOR_RANK = "__annotator_rank"
PAIR = "__pair"
CODE = "code"
HELPERS = (ID_RANK, ANNOTATOR_RANK, PAIR, CODE)
"""Columns added to the vote table by :func:`with_ranks` and :func:`label_codes`."""

_WIDE_INTEGERS = (pl.UInt64, pl.Int128, pl.UInt128)
_OFFSET_RANGE = 4
"""Integers spanning up to this many times the number of votes are ranked by offset."""


def native(expr: pl.Expr, dtype: pl.DataType, *, strip: bool = False) -> pl.Expr:
    """An id, annotator or label column as read: integers as ``Int64`` (those beyond its
    range, and every other type, as text, with ``strip`` its surrounding spaces removed)."""
    if dtype.is_integer() and dtype not in _WIDE_INTEGERS:
        return expr.cast(pl.Int64)
    text = expr.cast(pl.String)
    return text.str.strip_chars() if strip else text


def as_text(expr: pl.Expr) -> pl.Expr:
    """The text of a native column (what the output and the class lookup see)."""
    return expr.cast(pl.String)


def _rank(votes: pl.DataFrame, column: str) -> pl.Expr:
    """A 0-based integer per distinct value (null for null): an integer's offset from the
    smallest one when they span a range of at most a few times the rows (no sort), else
    the dense rank."""
    col = pl.col(column)
    if votes.schema[column] == pl.Int64 and votes.height:
        low, high = votes.select(col.min().alias("low"), col.max().alias("high")).row(0)
        if low is None or high - low <= _OFFSET_RANGE * votes.height + 1024:
            return col - (low or 0)
    return col.rank("dense").cast(pl.Int64) - 1


def with_ranks(votes: pl.DataFrame) -> pl.DataFrame:
    """Add an integer rank of ``id`` (null for a null id) and of ``annotator`` (0 for a
    missing annotator, the others from 1), and the integer of the pair."""
    ranked = votes.with_columns(
        _rank(votes, "id").alias(ID_RANK),
        (_rank(votes, "annotator") + 1).fill_null(0).alias(ANNOTATOR_RANK),
    )
    width = int(ranked.get_column(ANNOTATOR_RANK).max() or 0) + 1  # type: ignore[arg-type]
    return ranked.with_columns((pl.col(ID_RANK) * width + pl.col(ANNOTATOR_RANK)).alias(PAIR))


def label_codes(labels: pl.Series, index_of: Mapping[str, int]) -> pl.Expr:
    """The class code of every label (null when its text names no class), looked up once
    per distinct label."""
    distinct = labels.drop_nulls().unique()
    codes = (
        distinct.cast(pl.String)
        .str.strip_chars()
        .replace_strict(dict(index_of), default=None, return_dtype=pl.Int64)
    )
    return pl.col("label").replace_strict(distinct, codes, default=None, return_dtype=pl.Int64)


def empty(column: str, dtype: pl.DataType) -> pl.Expr:
    """Null, or empty text."""
    expr = pl.col(column).is_null()
    return expr | (pl.col(column) == "") if dtype == pl.String else expr


def repeated(votes: pl.DataFrame) -> int:
    """Votes after the first of one annotator on one item, among the votes that pass the
    other checks (what ``duplicate_votes`` counts, whatever the policy)."""
    valid = pl.col(PRE_REASON).is_null() | (pl.col(PRE_REASON) == "duplicate_vote")
    counted = votes.filter(valid).get_column(PAIR)
    return counted.len() - counted.n_unique()


def _first_appearance(ranks: npt.NDArray[np.int64]) -> tuple[IntArray, IntArray]:
    """Codes numbering the distinct ``ranks`` (>= 0) in order of first appearance, and the
    position of each first appearance."""
    n = ranks.size
    if n and bool((ranks[1:] >= ranks[:-1]).all()):
        # Sorted (votes grouped by a rising id, as most files are): runs of equal ranks.
        new = np.empty(n, dtype=bool)
        new[0] = True
        np.not_equal(ranks[1:], ranks[:-1], out=new[1:])
        codes = np.cumsum(new, dtype=np.int64) - 1
        return codes, np.flatnonzero(new).astype(np.int64)
    first = np.full(int(ranks.max(initial=-1)) + 1, n, dtype=np.int64)
    np.minimum.at(first, ranks, np.arange(n, dtype=np.int64))
    rows = np.sort(first[first < n])
    lookup = np.zeros(first.size, dtype=np.int64)
    lookup[ranks[rows]] = np.arange(rows.size, dtype=np.int64)
    return np.asarray(lookup[ranks], dtype=np.int64), rows


def encode(valid: pl.DataFrame, k: int) -> tuple[EncodedVotes, pl.DataFrame, list[str]]:
    """Valid votes -> integer codes: items and annotators numbered in order of first
    appearance. Returns the votes, one row per item (its ``id`` as text and the source,
    file, row and split of its first vote) and the annotators' names."""
    firsts = [c for c in (SOURCE, FILE, ROW, "split") if c in valid.columns]
    item, item_rows = _first_appearance(valid.get_column(ID_RANK).to_numpy())
    annotator, annotator_rows = _first_appearance(valid.get_column(ANNOTATOR_RANK).to_numpy())
    encoded = EncodedVotes.unchecked(
        item,
        annotator,
        valid.get_column(CODE).to_numpy(),
        n_items=item_rows.size,
        n_annotators=annotator_rows.size,
        n_classes=k,
    )
    items = valid[item_rows].select(as_text(pl.col("id")).alias("id"), *firsts)
    names = valid[annotator_rows].select(as_text(pl.col("annotator"))).to_series().to_list()
    return encoded, items, names
