"""Format readers: every input becomes a lazy frame of its columns plus ``__row``.

Text formats (CSV, TSV, JSONL) are first checked and indexed by
:func:`labelprep.inputs.textscan.scan_text` (line endings, BOM, blank lines, quotes, UTF-8), then
read by Polars with every column as text, so no value decides another row's type:

- CSV/TSV: ``infer_schema=False``; a cell that is empty or only spaces (quoted or not)
  is null.
- JSONL: every field is read as its JSON text (``0.5``, ``"0.5"`` and ``[0.1, 0.9]``
  all become text parsed per row); a JSON string that is empty is null.

``__row`` is the physical line where the record starts (header line 1 for CSV/TSV,
first line 1 for JSONL) or the 1-based row for Parquet.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TextIO

import polars as pl

from labelprep.config import InputFormat, Options
from labelprep.errors import ConfigError, InputError
from labelprep.inputs.textscan import Dialect, Layout, scan_text

ROW = "__row"
_INDEX = "__index"
_DUPLICATED = re.compile(r"^(.*)_duplicated_\d+$")


@dataclass(frozen=True)
class Read:
    """One file as read: its raw columns (lazy), their schema, and the id's natural type."""

    frame: pl.LazyFrame
    schema: pl.Schema
    inferred: pl.Schema | None = None
    """For JSONL, the types Polars infers over the whole file (the columns are text)."""
    read_path: str = ""


def _one_byte(text: str) -> bool:
    """Polars' CSV reader takes one-byte separators and quotes; a line break cannot be one."""
    return len(text.encode("utf-8")) == 1 and text not in "\r\n"


def dialect(fmt: InputFormat, options: Options) -> Dialect:
    """The text dialect of an input from its format and the reading options."""
    if fmt == "jsonl":
        return Dialect(quote=None, has_header=False, json=True)
    sep = options.separator
    if sep is None:
        sep = "\t" if fmt == "tsv" else ","
    if sep in ("\\t", "tab"):
        sep = "\t"
    whitespace = sep in ("whitespace", " ")
    if not whitespace and not _one_byte(sep):
        raise ConfigError(
            f"separator {sep!r} must be one ASCII character (not a line break), '\\t', or "
            "'whitespace' (runs of spaces)."
        )
    quote = options.quote_char or None
    if quote is not None and (not _one_byte(quote) or quote == sep):
        raise ConfigError(
            f"quote character {quote!r} must be one ASCII character other than the "
            "separator and line breaks (or empty)."
        )
    return Dialect(
        separator="\t" if whitespace else sep,
        whitespace=whitespace,
        quote=None if whitespace else quote,
        has_header=not options.no_header,
    )


def read_text(path: str, fmt: InputFormat, options: Options) -> Read:
    """A CSV/TSV/JSONL file as raw text columns with its physical line numbers."""
    d = dialect(fmt, options)
    names = options.column_names if options.no_header else None
    layout = scan_text(path, d, expected_fields=len(names) if names else None)
    if d.json:
        return _read_jsonl(path, layout)
    if names is None and not d.has_header:
        names = tuple(f"column_{i + 1}" for i in range(max(layout.max_fields, 1)))
    lf = pl.scan_csv(
        layout.read_path,
        separator=d.separator,
        quote_char=d.quote,
        has_header=d.has_header,
        schema=dict.fromkeys(names, pl.String) if names else None,
        infer_schema=False,
        row_index_name=_INDEX,
        encoding="utf8",
        raise_if_empty=False,
        truncate_ragged_lines=False,
    )
    schema = _schema(path, lf, layout)
    _check_names(path, [n for n in schema.names() if n != _INDEX], layout)
    empty_is_null = [
        pl.when(pl.col(n).str.strip_chars() != "").then(pl.col(n)).alias(n)
        for n in schema.names()
        if n != _INDEX
    ]
    frame = _with_rows(lf.with_columns(empty_is_null), layout)
    return Read(frame, _without_index(schema), read_path=layout.read_path)


def _schema(path: str, lf: pl.LazyFrame, layout: Layout) -> pl.Schema:
    try:
        return lf.collect_schema()
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"{path}: cannot read the header: {first_line(exc)}") from exc


def _without_index(schema: pl.Schema) -> pl.Schema:
    return pl.Schema({k: v for k, v in schema.items() if k != _INDEX})


def _check_names(path: str, names: Sequence[str], layout: Layout) -> None:
    """Polars renames a repeated header name ``a`` to ``a_duplicated_0``: refuse instead."""
    line = f", line {layout.header_line}" if layout.header_line else ""
    if "" in names:
        raise InputError(
            f"{path}{line}: column {list(names).index('') + 1} has no name (a trailing "
            "separator?); name every column, or pass --no-header --column-names."
        )
    for name in names:
        match = _DUPLICATED.match(name)
        if match and match.group(1) in names:
            raise InputError(
                f"{path}{line}: the column name {match.group(1)!r} appears more than once; "
                "rename the columns so that each name is unique."
            )


def _with_rows(lf: pl.LazyFrame, layout: Layout) -> pl.LazyFrame:
    """``__row``: the physical line of each record (a lookup when lines are not
    consecutive, after blank lines or fields spanning lines)."""
    if layout.consecutive:
        row = pl.col(_INDEX).cast(pl.Int64) + layout.first_line
    else:
        lines = pl.Series(ROW, layout.record_lines, dtype=pl.Int64)
        row = pl.lit(lines).gather(pl.col(_INDEX))
    return lf.with_columns(row.alias(ROW)).drop(_INDEX)


def _read_jsonl(path: str, layout: Layout) -> Read:
    inferred, typed = _jsonl_schema(path, layout)
    lf = pl.scan_ndjson(
        layout.read_path, schema=dict.fromkeys(inferred.names(), pl.String), row_index_name=_INDEX
    )
    as_text = [
        pl.when(pl.col(n).str.strip_chars() != "").then(pl.col(n)).alias(n)
        for n in inferred.names()
    ]
    frame = _with_rows(lf.with_columns(as_text), layout)
    schema = pl.Schema(dict.fromkeys(inferred.names(), pl.String()))
    return Read(frame, schema, inferred if typed else None, read_path=layout.read_path)


def _jsonl_schema(path: str, layout: Layout) -> tuple[pl.Schema, bool]:
    """The keys of every record, with the types Polars infers over the whole file. When
    inference fails, the failing line is found and named (or, for values of
    incompatible kinds such as an object and a list, the keys are read without types)."""
    try:
        return pl.scan_ndjson(layout.read_path, infer_schema_length=None).collect_schema(), True
    except pl.exceptions.PolarsError as exc:
        keys = _jsonl_keys(path, layout)
        if keys is None:
            raise InputError(f"{path}: cannot read it as JSONL: {first_line(exc)}") from exc
        return pl.Schema(dict.fromkeys(keys, pl.String())), False


def _jsonl_keys(path: str, layout: Layout) -> list[str] | None:
    """Error path only, line by line: raise for the first line that is not a JSON object;
    otherwise the union of the keys in order of first appearance."""
    keys: dict[str, None] = {}
    with open(layout.read_path, encoding="utf-8") as handle:
        for number, text in zip(layout.record_lines, _nonblank(handle), strict=False):
            try:
                value = json.loads(text, parse_constant=_not_json)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}, line {number}: not valid JSON ({exc.msg}).") from None
            except ValueError as exc:
                raise InputError(f"{path}, line {number}: not valid JSON ({exc}).") from None
            if not isinstance(value, dict):
                raise InputError(
                    f"{path}, line {number}: a JSON {type(value).__name__}, not an object; "
                    "JSONL has one object per line."
                )
            keys.update(dict.fromkeys(value))
    return list(keys) or None


def _not_json(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value; write null or a number")


def _nonblank(handle: TextIO) -> Iterator[str]:
    return (line for line in handle if line.strip())


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
