"""In-memory inputs: a Polars DataFrame or LazyFrame, a pandas DataFrame or a PyArrow Table.

A frame goes through the same checks as a file: it becomes the same lazy frame of its
columns plus ``__row`` that the readers give for a Parquet file, with its column types
(a frame is typed, as a Parquet file is), and then the same canonical projection, the
same id typing and the same row checks. pandas and PyArrow objects are recognised by the
module of their class, so neither library is imported unless such an object is passed.

The class names a PyArrow Table stores in its schema metadata (a Hugging Face ``datasets``
table's ``ClassLabel``, ``labelprep.classes``) are read as those of a Parquet file.

Provenance: a frame has no file, so its rows are named by the frame's position in the
list of inputs given (``<frame 0>`` for the first input, ``<frame 2>`` for the third) and
their 1-based row number, as Parquet rows are numbered (row 1 is the frame's first row).
A pandas index with a name (``df.set_index("id")``) is read as a column; an unnamed
index is not read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

import polars as pl

from labelprep.errors import InputError
from labelprep.inputs.readers import ROW, Read, first_line

if TYPE_CHECKING:
    import pandas  # type: ignore[import-untyped]
    import pyarrow

    FrameLike: TypeAlias = pl.DataFrame | pl.LazyFrame | pandas.DataFrame | pyarrow.Table
    """A frame labelprep reads in place of a file."""

_FOREIGN = {
    ("pandas", "DataFrame"): "a pandas DataFrame",
    ("pyarrow", "Table"): "a PyArrow Table",
    ("pyarrow", "RecordBatch"): "a PyArrow RecordBatch",
}


def _foreign_kind(obj: object) -> tuple[str, str] | None:
    """``(library, class)`` of a pandas or PyArrow frame (or a subclass), else None."""
    for cls in type(obj).__mro__:
        key = (cls.__module__.split(".")[0], cls.__name__)
        if key in _FOREIGN:
            return key
    return None


def is_frame(obj: object) -> bool:
    """Whether ``obj`` is a frame labelprep reads (Polars, pandas or PyArrow)."""
    return isinstance(obj, (pl.DataFrame, pl.LazyFrame)) or _foreign_kind(obj) is not None


def frame_label(position: int) -> str:
    """The name a frame's rows carry as their source (``<frame 0>``)."""
    return f"<frame {position}>"


def as_lazy(obj: Any, label: str) -> pl.LazyFrame:
    """A frame as a Polars LazyFrame (pandas and PyArrow data are converted once)."""
    if isinstance(obj, pl.LazyFrame):
        return obj
    if isinstance(obj, pl.DataFrame):
        return obj.lazy()
    kind = _foreign_kind(obj)
    try:
        if kind == ("pandas", "DataFrame"):
            return _from_pandas(obj).lazy()
        if kind is not None:
            converted = pl.from_arrow(obj)
            assert isinstance(converted, pl.DataFrame)  # a Table or RecordBatch gives one
            return converted.lazy()
    except (pl.exceptions.PolarsError, ValueError, TypeError) as exc:
        raise InputError(
            f"{label}: cannot convert {_FOREIGN[kind or ('pandas', 'DataFrame')]} to a "
            f"Polars frame: {first_line(exc).rstrip('.')}. Give each column a unique name "
            "and one type (no Python objects mixed with other values)."
        ) from exc
    raise InputError(f"{label}: {type(obj).__name__} is not a frame.")


def _from_pandas(df: Any) -> pl.DataFrame:
    """A pandas DataFrame in Polars; its index is a column only when every level is named
    and no name is also a column's."""
    names = list(df.index.names)
    named = all(name is not None for name in names)
    clash = any(name in df.columns for name in names)
    return pl.from_pandas(df, include_index=named and not clash)


def frame_metadata(obj: Any) -> dict[str, str]:
    """The key-value schema metadata of a PyArrow frame (where Hugging Face ``datasets``
    keeps its ``ClassLabel`` names); empty for other frames."""
    kind = _foreign_kind(obj)
    if kind is None or kind[0] != "pyarrow":
        return {}
    stored = obj.schema.metadata or {}
    return {k.decode("utf-8", "replace"): v.decode("utf-8", "replace") for k, v in stored.items()}


def read_frame(obj: Any, label: str) -> Read:
    """A frame as the readers give a file: its columns (typed) plus the 1-based ``__row``."""
    lf = as_lazy(obj, label)
    try:
        schema = lf.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:  # a LazyFrame that scans a file
        raise InputError(f"{label}: cannot read the frame's schema: {first_line(exc)}") from exc
    if ROW in schema:
        raise InputError(
            f"{label}: the frame has a column {ROW!r}, a name labelprep keeps for the row "
            "number; rename it."
        )
    bad = [name for name, dtype in schema.items() if dtype == pl.Object]
    if bad:
        raise InputError(
            f"{label}: column {bad[0]!r} holds Python objects; convert it to numbers, text "
            "or lists first."
        )
    return Read(lf.with_row_index(ROW, offset=1), schema)
