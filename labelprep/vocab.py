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
EVIDENCE_ROLES = ("probs", "label", "excluded", "candidates")


def _head_text(source: InputFile, names: Sequence[str]) -> pl.DataFrame:
    """The first rows of some columns of a CSV/TSV file, as text."""
    return pl.read_csv(
        source.path,
        separator="\t" if source.format == "tsv" else ",",
        infer_schema=False,
        n_rows=_PROBE_ROWS,
        columns=list(names),
    )


def _as_numbers(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(pl.all().str.strip_chars().cast(pl.Float64, strict=False))


def _probe(source: InputFile, names: Sequence[str]) -> pl.DataFrame:
    """The first rows of some columns, as Float64 (text that does not parse is null)."""
    if source.format in ("csv", "tsv"):
        return _as_numbers(_head_text(source, names))
    lf = (
        pl.scan_parquet(source.path)
        if source.format == "parquet"
        else pl.scan_ndjson(source.path, infer_schema_length=None)
    )
    return lf.select(pl.col(list(names)).cast(pl.Float64, strict=False)).head(_PROBE_ROWS).collect()


def _numeric_names(source: InputFile, names: Sequence[str]) -> list[str]:
    """The columns that hold numbers (for text formats: judged on the first rows)."""
    if source.format not in ("csv", "tsv"):
        return [n for n in names if source.schema[n].is_numeric() or source.schema[n] == pl.Null]
    if not names:
        return []
    raw = _head_text(source, names)
    parsed = _as_numbers(raw)
    return [n for n in names if raw[n].null_count() == raw.height or parsed[n].is_not_null().any()]


def _look_like_probabilities(source: InputFile, names: Sequence[str]) -> bool:
    """On the first rows that fill any of the columns, do at least half hold values in
    [0, 1] summing to 1 (within 0.05)?"""
    probe = _probe(source, names).filter(pl.any_horizontal(pl.all().is_not_null()))
    if probe.is_empty():
        return False
    in_range = pl.all_horizontal(pl.all().fill_null(0).is_between(0, 1))
    sums_to_one = (pl.sum_horizontal(pl.all()) - 1).abs() <= 0.05
    return bool(probe.select((in_range & sums_to_one).mean()).item() >= 0.5)


def numeric_columns(source: InputFile, options: Options) -> tuple[list[str], list[str]]:
    """Columns of a file that hold class probabilities, and the ignored others.

    In a file with no other evidence every numeric column is a class. In a file that has
    ``probs``, ``label``, ``excluded`` or ``candidates``, the numeric columns are classes
    only if they look like probability rows: a ``score``, an ``entropy`` or a ``gold``
    index next to a label is not a class.
    """
    free = [name for name in source.columns if name not in _reserved(options)]
    numeric = _numeric_names(source, free)
    other = [n for n in free if n not in numeric]
    has_evidence = any(getattr(options.columns, r) in source.columns for r in EVIDENCE_ROLES)
    if numeric and has_evidence and not _look_like_probabilities(source, numeric):
        return [], free
    return numeric, other


def _ignored_notice(source: InputFile, ignored: Sequence[str]) -> list[str]:
    if not ignored:
        return []
    return [
        f"{source.path}: ignoring column(s) {', '.join(map(repr, ignored))} "
        "(not a class column or a known role); pass --keep NAME to carry one along, "
        "or --classes to name the class columns."
    ]


def _wide_columns(sources: Sequence[InputFile], options: Options) -> tuple[list[str], list[str]]:
    wide: dict[str, None] = {}
    notices = []
    for source in sources:
        numeric, other = numeric_columns(source, options)
        wide.update(dict.fromkeys(numeric))
        notices += _ignored_notice(source, other)
    return list(wide), notices


def _unused_columns(
    sources: Sequence[InputFile], classes: Sequence[str], options: Options
) -> list[str]:
    """Notices for the columns a run with a fixed vocabulary does not read."""
    used = _reserved(options) | set(options.prob_columns or classes)
    notices = []
    for source in sources:
        notices += _ignored_notice(source, [c for c in source.columns if c not in used])
    return notices


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
    given = options.classes or options.prob_columns
    if given is not None:
        classes = list(given)
        unused = tuple(_unused_columns(sources, classes, options))
        return Vocabulary(tuple(classes), _columns_per_file(sources, classes, options), unused)
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
