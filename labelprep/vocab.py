"""The class vocabulary: an ordered list of K class names, fixed for the run.

Given with ``classes=`` (``--classes``), or inferred with a notice:

1. the wide probability columns, in file order (numeric columns that play no
   other role: not the id, label, list, split, annotator or kept columns);
2. otherwise the distinct class names found in ``label``, ``excluded`` and
   ``candidates``, sorted (numerically when every name is an integer);
3. otherwise ``"0" .. "K-1"`` where K is the longest ``probs`` list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from labelprep.config import Options
from labelprep.errors import ColumnNotFoundError, VocabularyError
from labelprep.ingest import (
    RAW_CANDIDATES,
    RAW_EXCLUDED,
    RAW_LABEL,
    RAW_PROBS,
    InputFile,
    collect_all,
)


@dataclass(frozen=True)
class Vocabulary:
    """The classes of a run, and which column of each file holds each class."""

    classes: tuple[str, ...]
    class_columns: dict[str, tuple[str | None, ...]]
    notices: tuple[str, ...] = ()

    def index_of(self) -> dict[str, int]:
        """Map a label as written to its class index: names, and 0-based indices.

        A name wins over an index: with classes ``("1", "0")``, label ``"0"`` is
        class ``"0"`` (index 1).
        """
        mapping = {str(i): i for i in range(len(self.classes))}
        mapping.update({name: i for i, name in enumerate(self.classes)})
        return mapping


def _reserved(options: Options) -> set[str]:
    cols = options.columns
    return {
        cols.id,
        cols.label,
        cols.probs,
        cols.excluded,
        cols.candidates,
        cols.split,
        cols.annotator,
        *options.keep,
    }


_PROBE_ROWS = 1000


def _looks_numeric(source: InputFile, name: str) -> bool:
    """Does the column hold numbers? For text formats: does any of the first rows parse?"""
    dtype = source.schema[name]
    if dtype.is_numeric() or dtype == pl.Null:
        return True
    if source.format not in ("csv", "tsv"):
        return False
    head = pl.read_csv(
        source.path,
        separator="\t" if source.format == "tsv" else ",",
        infer_schema=False,
        n_rows=_PROBE_ROWS,
        columns=[name],
    )[name]
    parsed = head.str.strip_chars().cast(pl.Float64, strict=False)
    return head.null_count() == head.len() or parsed.is_not_null().any()


def numeric_columns(source: InputFile, options: Options) -> tuple[list[str], list[str]]:
    """Unreserved columns of a file split into (numeric, other)."""
    reserved = _reserved(options)
    numeric: list[str] = []
    other: list[str] = []
    for name in source.columns:
        if name not in reserved:
            (numeric if _looks_numeric(source, name) else other).append(name)
    return numeric, other


def _wide_columns(sources: Sequence[InputFile], options: Options) -> tuple[list[str], list[str]]:
    wide: dict[str, None] = {}
    notices = []
    for source in sources:
        numeric, other = numeric_columns(source, options)
        wide.update(dict.fromkeys(numeric))
        if other:
            notices.append(
                f"{source.path}: ignoring column(s) {', '.join(map(repr, other))} "
                "(not numeric, not a known role); pass --keep NAME to carry one along."
            )
    return list(wide), notices


def _sorted_names(names: Sequence[str]) -> list[str]:
    if names and all(name.lstrip("-").isdigit() for name in names):
        return sorted(names, key=int)
    return sorted(names)


def _names_in_data(frames: Sequence[pl.LazyFrame]) -> list[str]:
    values = [
        lf.select(
            pl.concat_list(
                pl.col(RAW_LABEL).fill_null(pl.lit(None, pl.String)),
            )
            .list.concat(pl.col(RAW_EXCLUDED).fill_null([]))
            .list.concat(pl.col(RAW_CANDIDATES).fill_null([]))
            .alias("name")
        )
        .explode("name")
        .drop_nulls()
        .unique()
        for lf in frames
    ]
    found = collect_all([pl.concat(values).unique()])[0]
    return _sorted_names(found["name"].to_list())


def _longest_probs(frames: Sequence[pl.LazyFrame]) -> int:
    lengths = [lf.select(pl.col(RAW_PROBS).list.len().max()) for lf in frames]
    longest = collect_all([pl.concat(lengths).max()])[0].item()
    return int(longest or 0)


def _columns_per_file(
    sources: Sequence[InputFile], classes: Sequence[str], options: Options
) -> dict[str, tuple[str | None, ...]]:
    if options.prob_columns is None:
        return {s.path: tuple(c if c in s.columns else None for c in classes) for s in sources}
    if len(options.prob_columns) != len(classes):
        raise VocabularyError(
            f"--prob-columns names {len(options.prob_columns)} columns "
            f"but there are {len(classes)} classes."
        )
    for source in sources:
        for name in options.prob_columns:
            if name not in source.columns:
                raise ColumnNotFoundError.from_missing_and_available(
                    name, source.columns, source=source.path, role="probability"
                )
    return {s.path: tuple(options.prob_columns) for s in sources}


def resolve_vocabulary(
    sources: Sequence[InputFile], canonical: Sequence[pl.LazyFrame], options: Options
) -> Vocabulary:
    """Fix the class vocabulary of a run (see the module docstring)."""
    if options.classes is not None:
        classes = list(options.classes)
        return Vocabulary(tuple(classes), _columns_per_file(sources, classes, options))
    if options.prob_columns is not None:
        classes = list(options.prob_columns)
        return Vocabulary(tuple(classes), _columns_per_file(sources, classes, options))
    wide, notices = _wide_columns(sources, options)
    if wide:
        how = "the probability columns"
        classes = wide
    elif names := _names_in_data(canonical):
        how = "the distinct labels in the data"
        classes = names
    elif (k := _longest_probs(canonical)) > 0:
        how = f"the longest '{options.columns.probs}' list"
        classes = [str(i) for i in range(k)]
    else:
        raise VocabularyError(
            "cannot infer the classes: no probability columns, labels, or class lists "
            "were found; pass --classes a,b,c."
        )
    notices.append(
        f"classes inferred from {how}: {', '.join(classes)} "
        "(pass --classes to fix the order and include classes with no examples)."
    )
    return Vocabulary(tuple(classes), _columns_per_file(sources, classes, options), tuple(notices))
