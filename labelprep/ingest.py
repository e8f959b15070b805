"""Read annotation files lazily into one canonical frame, keeping provenance.

``scan_annotations`` is the entry point: it resolves paths and globs, picks a
reader per file by extension (or ``input_format``), checks the columns, and
returns a :class:`~polars.LazyFrame` whose columns are

``__source``, ``__row``
    provenance: the path as given, and the line number for text formats
    (CSV/TSV header is line 1, so the first record is line 2; JSONL line 1 is
    the first record) or the 1-based row number for Parquet.
``id``, ``split`` and the kept columns
    passed through (``split`` as String).
``__raw_label``, ``__raw_probs``, ``__raw_excluded``, ``__raw_candidates``
    the evidence columns as read (null when the file lacks the column);
    lists are always ``List(String)``.
``__raw{i}``
    the raw value of the wide probability column of class ``i``.
"""

from __future__ import annotations

import glob as globlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from labelprep.config import InputFormat, Options
from labelprep.errors import ColumnNotFoundError, InputError

SOURCE, ROW, FILE = "__source", "__row", "__file"
RAW_LABEL, RAW_PROBS = "__raw_label", "__raw_probs"
RAW_EXCLUDED, RAW_CANDIDATES = "__raw_excluded", "__raw_candidates"
VOTES, PRE_REASON = "__votes", "__pre_reason"  # set on rows that come from vote files

EXTENSIONS: dict[str, InputFormat] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_TEXT_PROBE_BYTES = 1 << 16


def raw_class_column(index: int) -> str:
    """Name of the canonical column holding the raw value of class ``index``."""
    return f"__raw{index}"


@dataclass(frozen=True)
class InputFile:
    """One input file: its path as given, format, and column names."""

    path: str
    format: InputFormat
    columns: tuple[str, ...]
    schema: pl.Schema
    index: int = 0
    """Position of the file among the run's inputs (orders rows across files)."""


def resolve_paths(inputs: Sequence[str | Path]) -> list[str]:
    """Expand globs; every plain path must exist. Order is kept, duplicates dropped."""
    paths: list[str] = []
    for item in inputs:
        text = str(item)
        if globlib.has_magic(text):
            matches = sorted(globlib.glob(text, recursive=True))
            if not matches:
                raise InputError(f"{text}: the pattern matches no file.")
            paths.extend(matches)
        elif not Path(text).exists():
            raise InputError(f"{text}: no such file.")
        elif Path(text).is_dir():
            raise InputError(f"{text}: is a directory; give files or a glob such as '{text}/*'.")
        else:
            paths.append(text)
    if not paths:
        raise InputError("no input files were given.")
    return list(dict.fromkeys(paths))


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


def _check_text_file(path: str) -> None:
    """Catch empty files and wrong encodings before any output is written."""
    size = Path(path).stat().st_size
    if size == 0:
        raise InputError(f"{path}: the file is empty.")
    with open(path, "rb") as handle:
        head = handle.read(_TEXT_PROBE_BYTES)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        raise InputError(
            f"{path}: the file is not UTF-8 (it looks like UTF-16); re-save it as UTF-8."
        )
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the probe's end
            raise InputError(
                f"{path}: the file is not valid UTF-8 (byte {exc.start}: "
                f"{head[exc.start : exc.start + 1]!r}); re-save it as UTF-8."
            ) from exc


def _scan_one(path: str, fmt: InputFormat, options: Options) -> pl.LazyFrame:
    if fmt == "parquet":
        return pl.scan_parquet(path, row_index_name=ROW, row_index_offset=1)
    _check_text_file(path)
    if fmt == "jsonl":
        return pl.scan_ndjson(
            path, row_index_name=ROW, row_index_offset=1, infer_schema_length=None
        )
    return pl.scan_csv(
        path,
        separator="\t" if fmt == "tsv" else ",",
        infer_schema=False,
        row_index_name=ROW,
        row_index_offset=2,
        encoding="utf8",
        raise_if_empty=True,
    )


def open_input(path: str, options: Options, *, index: int = 0) -> tuple[InputFile, pl.LazyFrame]:
    """Scan one file and read its schema; file-level problems raise :class:`InputError`."""
    fmt = detect_format(path, options.input_format)
    try:
        lf = _scan_one(path, fmt, options)
        schema = lf.collect_schema()
    except InputError:
        raise
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"{path}: cannot read it as {fmt}: {_first_line(exc)}") from exc
    columns = tuple(name for name in schema.names() if name != ROW)
    if options.columns.id not in columns:
        raise ColumnNotFoundError.from_missing_and_available(
            options.columns.id, columns, source=path, role="id"
        )
    return InputFile(path, fmt, columns, schema, index), lf


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _as_string_list(expr: pl.Expr, dtype: pl.DataType, delimiter: str) -> pl.Expr:
    """A list-of-strings view of a list column or a delimited string column."""
    if isinstance(dtype, (pl.List, pl.Array)):
        return expr.cast(pl.List(pl.String)).list.eval(pl.element().str.strip_chars())
    text = expr.cast(pl.String).str.strip_chars()
    items = text.str.strip_chars("[]").str.split(delimiter)
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
        pl.col(cols.id).alias("id"),
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
        return pl.collect_all(frames)
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"cannot read the input: {_first_line(exc)}") from exc
