"""Gold items for vote aggregation: a file of (id, label) pairs whose answers are known.

The file is CSV, TSV, Parquet or NDJSON/JSONL (by extension), with a header naming the id
column and the label column (the run's ``id`` and ``label`` column names). Labels are class
names of the run's vocabulary. Every problem with the file (unreadable, a missing column, an
empty id or label, a label outside the vocabulary, one id given two different labels) stops
the run with one message naming the file and the 1-based data row. Ids that no voted item
has are counted, not an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from labelprep.aggregation._encoded import IntArray
from labelprep.errors import ColumnNotFoundError, InputError

_READERS = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": "\t"}


@dataclass(frozen=True)
class Gold:
    """Gold class codes aligned with the aggregated items (``-1`` = unknown)."""

    path: str
    codes: IntArray
    given: int
    unmatched: int


def _read(path: str) -> pl.DataFrame:
    suffix = Path(path).suffix.lower()
    try:
        if suffix == ".parquet":
            return pl.read_parquet(path)
        if suffix in (".jsonl", ".ndjson"):
            return pl.read_ndjson(path)
        if suffix in _READERS:
            return pl.read_csv(path, separator=_READERS[suffix], infer_schema=False)
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot read the gold file: {first}") from exc
    raise InputError(
        f"{path}: unknown gold file format {suffix or '(none)'!r}; "
        "use .csv, .tsv, .parquet, .jsonl or .ndjson."
    )


def _checked(frame: pl.DataFrame, path: str, classes: Mapping[str, int]) -> pl.DataFrame:
    """``id`` and ``code`` per gold row, or the first problem as an ``InputError``."""
    coded = frame.with_row_index("row", offset=1).with_columns(
        pl.col("label")
        .replace_strict(dict(classes), default=None, return_dtype=pl.Int64)
        .alias("code")
    )
    problems = {
        "an empty id": pl.col("id").is_null() | (pl.col("id") == ""),
        "an empty label": pl.col("label").is_null() | (pl.col("label") == ""),
        "a label outside the class vocabulary": pl.col("code").is_null(),
    }
    for what, bad in problems.items():
        hit = coded.filter(bad)
        if hit.height:
            row, label = hit.row(0, named=True)["row"], hit.row(0, named=True)["label"]
            raise InputError(f"{path}: gold row {row} has {what} (label {label!r}).")
    clash = coded.unique(["id", "code"]).filter(pl.col("id").is_duplicated())
    if clash.height:
        first = clash.sort("row").row(0, named=True)
        raise InputError(
            f"{path}: gold row {first['row']}: id {first['id']!r} is given two different labels."
        )
    return coded.unique("id", keep="first", maintain_order=True).select("id", "code")


def read_gold(
    path: str | Path,
    item_ids: pl.Series,
    classes: Mapping[str, int],
    *,
    id_column: str = "id",
    label_column: str = "label",
) -> Gold:
    """Read a gold file and align it with ``item_ids`` (the aggregated items, as strings)."""
    text = str(path)
    frame = _read(text)
    for name, role in ((id_column, "gold id"), (label_column, "gold label")):
        if name not in frame.columns:
            raise ColumnNotFoundError.from_missing_and_available(
                name, frame.columns, source=text, role=role
            )
    frame = frame.select(
        pl.col(id_column).cast(pl.String).str.strip_chars().alias("id"),
        pl.col(label_column).cast(pl.String).str.strip_chars().alias("label"),
    )
    gold = _checked(frame, text, classes)
    items = pl.DataFrame({"id": item_ids.cast(pl.String)})
    aligned = items.join(gold, on="id", how="left", maintain_order="left")
    codes = aligned.get_column("code").fill_null(-1).to_numpy().astype(np.int64)
    matched = int((codes >= 0).sum())
    return Gold(text, codes, given=gold.height, unmatched=gold.height - matched)
