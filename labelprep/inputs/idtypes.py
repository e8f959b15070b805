"""The type of the ``id`` column: what the user's own reader gives, one type per run.

- Parquet: the column's type (integers and floats kept; text, categorical, boolean and
  dates as text); struct, list, array, binary and object ids are refused.
- JSONL: the type ``polars.read_ndjson`` infers over the whole file (integers beyond
  int64 stay text, exactly as written).
- CSV/TSV: ``Int64`` when every non-empty id is an integer that fits int64, as
  ``polars.read_csv`` infers; otherwise text. Ids with leading zeros (``007``) stay
  text, with a notice: as integers ``007`` and ``7`` would be one id.
- Across the inputs of a run: one type; integers of several widths become ``Int64``;
  any other mix becomes text (``String``), with a notice.

A float ``NaN`` id is null (``missing_id``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import polars as pl

from labelprep.errors import InputError

if TYPE_CHECKING:
    from labelprep.config import InputFormat
    from labelprep.inputs.ingest import InputFile
    from labelprep.inputs.readers import Read

_REFUSED = (pl.Struct, pl.List, pl.Array, pl.Binary, pl.Object)


def natural_id_type(
    path: str, fmt: InputFormat, read: Read, column: str
) -> tuple[pl.DataType, str | None]:
    """The id type of one file (see the module docstring), and a notice if any."""
    if read.schema[column] == pl.String and (fmt in ("csv", "tsv") or read.inferred is None):
        return _text_id_type(path, read.frame, column)
    dtype = read.inferred[column] if read.inferred is not None else read.schema[column]
    if isinstance(dtype, _REFUSED) or dtype == pl.Object:
        raise InputError(
            f"{path}: the id column {column!r} holds {dtype} values; ids must be integers or "
            "text (pass --id-column NAME for another column)."
        )
    if dtype.is_integer():
        if dtype in (pl.Int128, pl.UInt64, pl.UInt128):
            note = f"{path}: ids beyond the int64 range are kept as text, exactly as written."
            return pl.String(), note if fmt == "jsonl" else None
        return pl.Int64(), None
    if dtype.is_float():
        return pl.Float64(), None
    return pl.String(), None


def _text_id_type(path: str, lf: pl.LazyFrame, column: str) -> tuple[pl.DataType, str | None]:
    ids = pl.col(column).str.strip_chars()
    query = lf.select(
        ids.is_not_null().sum().alias("n"),
        ids.cast(pl.Int64, strict=False).is_not_null().sum().alias("ints"),
        ids.str.contains(r"^[+-]?0\d").any().alias("zeros"),
    )
    try:
        n, ints, zeros = query.collect().row(0)
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"{path}: cannot read the id column: {exc}") from exc
    if n == 0 or ints < n:
        return pl.String(), None
    if zeros:
        return pl.String(), f"{path}: ids with leading zeros (such as 007) are kept as text."
    return pl.Int64(), None


def run_id_type(sources: Sequence[InputFile]) -> tuple[pl.DataType, tuple[str, ...]]:
    """One id type for every input of a run, and the notices of the choice."""
    notes = tuple(dict.fromkeys(s.id_note for s in sources if s.id_note))
    types = [s.id_dtype for s in sources]
    if all(t == types[0] for t in types):
        return types[0], notes
    if all(t.is_integer() for t in types):
        return pl.Int64(), notes
    described = ", ".join(f"{s.path}: {s.id_dtype}" for s in sources)
    return pl.String(), (*notes, f"the ids have different types ({described}); read as text.")


def id_expr(column: str, raw: pl.DataType, target: pl.DataType) -> pl.Expr:
    """The raw id column cast to the run's id type (NaN and unparsable values are null)."""
    col = pl.col(column)
    if raw == pl.String and target != pl.String:
        col = col.str.strip_chars().cast(target, strict=False)
    elif raw != target:
        col = col.cast(target, strict=False)
    if target.is_float():
        col = pl.when(col.is_nan()).then(None).otherwise(col)
    return col.alias("id")
