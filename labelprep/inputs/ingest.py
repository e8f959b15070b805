"""Read annotation files lazily into one canonical frame, keeping provenance.

``scan_annotations`` is the entry point: it resolves paths and globs, picks a
reader per file by extension (or ``input_format``), checks the columns, and
returns a :class:`~polars.LazyFrame` whose columns are

``__source``, ``__row``
    provenance: the path as given, and the physical line where the record starts
    for text formats (CSV/TSV header is line 1; blank lines count) or the 1-based
    row number for Parquet (:mod:`labelprep.inputs.readers`).
``id``
    the id in the run's one id type (:mod:`labelprep.inputs.idtypes`).
``split`` and the kept columns
    passed through (``split`` as String).
``__raw_label``, ``__raw_probs``, ``__raw_excluded``, ``__raw_candidates``
    the evidence columns as read (null when the file lacks the column);
    lists are always ``List(String)``.
``__raw{i}``
    the raw value of the wide probability column of class ``i``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import polars as pl

from labelprep.config import InputFormat, Options
from labelprep.errors import ColumnNotFoundError, ConfigError, InputError
from labelprep.inputs.frames import frame_metadata, read_frame
from labelprep.inputs.idtypes import id_expr, natural_id_type, run_id_type
from labelprep.inputs.readers import ROW as _ROW
from labelprep.inputs.readers import Read, first_line, read_text
from labelprep.inputs.remote import read_remote
from labelprep.inputs.sources import FrameInput, resolve_inputs
from labelprep.inputs.textscan import readable_path
from labelprep.interrupts import run_interruptibly
from labelprep.stores import is_url

SOURCE, FILE = "__source", "__file"
ROW = _ROW  # provenance: the physical line or Parquet row (labelprep.inputs.readers)
RAW_LABEL, RAW_PROBS = "__raw_label", "__raw_probs"
RAW_EXCLUDED, RAW_CANDIDATES = "__raw_excluded", "__raw_candidates"
VOTES, PRE_REASON = "__votes", "__pre_reason"  # set on rows that come from vote files

SourceFormat = Literal["csv", "tsv", "parquet", "jsonl", "frame"]
"""How an input is read: a file format, or ``frame`` for an in-memory frame."""

EXTENSIONS: dict[str, InputFormat] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


def raw_class_column(index: int) -> str:
    """Name of the canonical column holding the raw value of class ``index``."""
    return f"__raw{index}"


@dataclass(frozen=True)
class InputFile:
    """One input: its path as given (``<frame N>`` for a frame), format, and column names."""

    path: str
    format: SourceFormat
    columns: tuple[str, ...]
    schema: pl.Schema
    index: int = 0
    """Position of the file among the run's inputs (orders rows across files)."""
    id_dtype: pl.DataType = field(default_factory=pl.String)
    """Type of ``id`` in the canonical frame: the run's one id type (see ``idtypes``)."""
    id_note: str | None = None
    inferred: pl.Schema | None = None
    """JSONL: the types Polars infers (the columns themselves are read as text)."""
    read_path: str = ""
    """Where the bytes are read: the file, or its normalised copy (see ``textscan``)."""
    raw: pl.LazyFrame | None = field(default=None, compare=False, repr=False)
    metadata: dict[str, str] | None = field(default=None, compare=False, repr=False)
    """An in-memory frame's key-value schema metadata (a Parquet file's is read from it)."""

    @property
    def types(self) -> pl.Schema:
        """The column types the user's own reader gives (``schema`` holds what labelprep
        reads: text for CSV/TSV/JSONL)."""
        return self.inferred if self.inferred is not None else self.schema

    def head(self, names: Sequence[str], n: int) -> pl.DataFrame:
        """The first ``n`` rows of some columns as read (text for text formats)."""
        if self.raw is None:
            raise InputError(f"{self.path}: the file was not opened.")
        return collect_all([self.raw.select(list(names)).head(n)])[0]

    def typed(self) -> pl.LazyFrame:
        """The file with the types the user's own reader infers (Parquet, JSONL)."""
        if self.format == "jsonl":
            return pl.scan_ndjson(self.read_path or self.path, infer_schema_length=None)
        if self.format in ("parquet", "frame") and self.raw is not None:
            return self.raw.drop(ROW)  # the scan already open: its footer is parsed once
        if self.raw is None:
            raise InputError(f"{self.path}: the file was not opened.")
        return self.raw


def detect_format(path: str, override: InputFormat | None = None) -> InputFormat:
    """The reader for ``path``: ``override`` if given, else by extension."""
    if override is not None:
        return override
    suffix = Path(path).suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    known = ", ".join(sorted(EXTENSIONS))
    raise InputError(
        f"{path}: unknown format {suffix or '(no extension)'!r}; "
        f"use one of {known}, or pass --input-format csv|tsv|parquet|jsonl."
    )


def _read(path: str, fmt: InputFormat, options: Options) -> Read:
    if is_url(path):
        return read_remote(path, fmt, options)
    if fmt == "parquet":
        read_path = readable_path(path)
        lf = pl.scan_parquet(read_path, row_index_name=ROW, row_index_offset=1)
        schema = lf.collect_schema()
        schema = pl.Schema({k: v for k, v in schema.items() if k != ROW})
        return Read(lf, schema, read_path=read_path)
    if Path(path).stat().st_size == 0:
        raise InputError(f"{path}: the file is empty.")
    return read_text(path, fmt, options)


def open_input(path: str, options: Options, *, index: int = 0) -> tuple[InputFile, pl.LazyFrame]:
    """Scan one file and read its schema; file-level problems raise :class:`InputError`."""
    fmt = detect_format(path, options.input_format)
    try:
        read = _read(path, fmt, options)
    except (InputError, ConfigError):
        raise
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"{path}: cannot read it as {fmt}: {first_line(exc)}") from exc
    return _opened(path, fmt, read, options, index)


def open_frame(
    entry: FrameInput, options: Options, *, index: int = 0
) -> tuple[InputFile, pl.LazyFrame]:
    """Open an in-memory frame as a typed file (as Parquet is read)."""
    read = read_frame(entry.frame, entry.label)
    source, lf = _opened(entry.label, "frame", read, options, index)
    return replace(source, metadata=frame_metadata(entry.frame)), lf


def _opened(
    path: str, fmt: SourceFormat, read: Read, options: Options, index: int
) -> tuple[InputFile, pl.LazyFrame]:
    """An input as read: the id column checked and its natural type found."""
    if options.id_from_row:
        read = _row_ids(path, read, options.columns.id)
    columns = tuple(read.schema.names())
    if options.columns.id not in columns:
        raise ColumnNotFoundError.from_missing_and_available(
            options.columns.id, columns, source=path, role="id"
        )
    # A frame is typed as a Parquet file is, and its ids are read the same way.
    id_type, note = natural_id_type(
        path, "parquet" if fmt == "frame" else fmt, read, options.columns.id
    )
    source = InputFile(
        path,
        fmt,
        columns,
        read.schema,
        index,
        id_type,
        note,
        inferred=read.inferred,
        read_path=read.read_path or path,
        raw=read.frame,
    )
    return source, read.frame


def _row_ids(path: str, read: Read, name: str) -> Read:
    """``id_from_row``: the row (line) number becomes the id column."""
    if name in read.schema:
        raise InputError(
            f"{path}: --id-from-row, but the file already has a column {name!r}; "
            "pass --id-column with another name."
        )
    frame = read.frame.with_columns(pl.col(ROW).cast(pl.Int64).alias(name))
    schema = pl.Schema({name: pl.Int64(), **read.schema})
    inferred = None if read.inferred is None else pl.Schema({name: pl.Int64(), **read.inferred})
    return replace(read, frame=frame, schema=schema, inferred=inferred)


def open_inputs(
    inputs: Sequence[object], options: Options
) -> tuple[list[tuple[InputFile, pl.LazyFrame]], tuple[str, ...]]:
    """Open every input once (files, globs and in-memory frames); the ids get one type
    across the run. Returns notices."""
    entries, notices = resolve_inputs(inputs)
    opened = [
        open_frame(entry, options, index=i)
        if isinstance(entry, FrameInput)
        else open_input(entry, options, index=i)
        for i, entry in enumerate(entries)
    ]
    id_type, id_notices = run_id_type([source for source, _ in opened])
    opened = [(replace(source, id_dtype=id_type), lf) for source, lf in opened]
    return opened, (*notices, *id_notices)


def _as_string_list(expr: pl.Expr, dtype: pl.DataType, delimiter: str) -> pl.Expr:
    """A list-of-strings view of a list column or a delimited string column."""
    if isinstance(dtype, (pl.List, pl.Array)):
        return expr.cast(pl.List(pl.String)).list.eval(pl.element().str.strip_chars())
    # Text is parsed per row: "a|b", or a JSON/Python list "[0.1, 0.9]" (JSONL list
    # values arrive as their JSON text), whose commas separate the items.
    text = expr.cast(pl.String).str.strip_chars()
    bracketed = text.str.starts_with("[") & text.str.ends_with("]")
    inner = text.str.strip_prefix("[").str.strip_suffix("]")
    inner = pl.when(bracketed).then(inner.str.replace_all(",", delimiter, literal=True))
    items = inner.otherwise(text).str.split(delimiter)
    items = items.list.eval(pl.element().str.strip_chars().str.strip_chars("'\""))
    return (
        pl.when(text.is_null())
        .then(None)
        .otherwise(items.list.eval(pl.element().filter(pl.element() != "")))
    )


def canonical_frame(
    source: InputFile, lf: pl.LazyFrame, *, class_columns: Sequence[str | None], options: Options
) -> pl.LazyFrame:
    """Project one file onto the canonical columns described in the module docstring."""
    cols = options.columns
    schema = source.schema
    check_scalar_columns(source, {"label": cols.label, "split": cols.split})

    def raw(name: str) -> pl.Expr:
        return pl.col(name) if name in schema else pl.lit(None)

    def raw_list(name: str) -> pl.Expr:
        if name not in schema:
            return pl.lit(None, dtype=pl.List(pl.String))
        return _as_string_list(pl.col(name), schema[name], options.list_delimiter)

    exprs = [
        pl.lit(source.path, dtype=pl.String).alias(SOURCE),
        pl.lit(source.index, dtype=pl.Int64).alias(FILE),
        pl.col(ROW).cast(pl.Int64),
        id_expr(cols.id, schema[cols.id], source.id_dtype),
        raw(cols.label).cast(pl.String).str.strip_chars().alias(RAW_LABEL),
        raw_list(cols.probs).alias(RAW_PROBS),
        raw_list(cols.excluded).alias(RAW_EXCLUDED),
        raw_list(cols.candidates).alias(RAW_CANDIDATES),
        pl.lit(False).alias(VOTES),
        pl.lit(None, dtype=pl.String).alias(PRE_REASON),
    ]
    for index, name in enumerate(class_columns):
        exprs.append(
            raw(name).alias(raw_class_column(index))
            if name
            else pl.lit(None).alias(raw_class_column(index))
        )
    if cols.split in schema:
        exprs.append(pl.col(cols.split).cast(pl.String).alias("split"))
    exprs.extend(pl.col(name) for name in options.keep)
    return lf.select(exprs)


def check_scalar_columns(source: InputFile, roles: dict[str, str]) -> None:
    """A label or split column holds one value per row, not lists or structs (a list of
    possible classes belongs in the candidates column)."""
    for role, name in roles.items():
        dtype = source.schema.get(name)
        if dtype is not None and dtype.is_nested():
            raise InputError(
                f"{source.path}: the {role} column {name!r} holds {dtype} values; a {role} "
                "is one value per row (text or a number)"
                + (
                    ", and a list of possible classes goes in the candidates column."
                    if role == "label"
                    else "."
                )
            )


def check_keep_columns(source: InputFile, keep: Sequence[str]) -> None:
    """Every ``--keep`` column must exist in every input."""
    for name in keep:
        if name not in source.columns:
            raise ColumnNotFoundError.from_missing_and_available(
                name, source.columns, source=source.path, role="--keep"
            )


FILE_SHIFT = 1 << 40
"""A row's position in the whole input is ``file index * FILE_SHIFT + row``."""


def ordinal() -> pl.Expr:
    """A row's position in the whole input: file index, then row (for "first occurrence")."""
    return pl.col(FILE) * FILE_SHIFT + pl.col(ROW)


def with_missing_columns(lf: pl.LazyFrame, k: int) -> pl.LazyFrame:
    """Add any canonical column the inputs did not provide, as nulls of its type."""
    types: dict[str, pl.DataType] = {
        RAW_LABEL: pl.String(),
        RAW_PROBS: pl.List(pl.String),
        RAW_EXCLUDED: pl.List(pl.String),
        RAW_CANDIDATES: pl.List(pl.String),
        VOTES: pl.Boolean(),
        PRE_REASON: pl.String(),
        **{raw_class_column(i): pl.Null() for i in range(k)},
    }
    present = lf.collect_schema().names()
    missing = [pl.lit(None, dtype=t).alias(n) for n, t in types.items() if n not in present]
    return lf.with_columns(missing) if missing else lf


def collect_all(frames: Sequence[pl.LazyFrame]) -> list[pl.DataFrame]:
    """Run queries over the inputs; a data problem met while reading (a bad byte deep in
    a file, a type that changes mid-file) becomes an :class:`InputError`."""
    try:
        return run_interruptibly(lambda: pl.collect_all(frames))
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"cannot read the input: {first_line(exc)}") from exc
