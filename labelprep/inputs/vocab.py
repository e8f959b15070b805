"""The class vocabulary: an ordered list of K class names, fixed for the run.

Given with ``classes=`` (``--classes``) or ``prob_columns=``, or else inferred, and the
notice always says where it came from:

1. class names stored in the input (:mod:`labelprep.inputs.class_metadata`: our own
   ``labelprep.classes``, a Hugging Face ``ClassLabel``, an ``n_classes`` count);
2. the wide probability columns, in file order: at least two numeric columns of a
   file that play no other role (not the id, label, list, split, annotator or kept
   columns); see :func:`numeric_columns` for when they count as classes;
3. the distinct class names found in ``label``, ``excluded`` and ``candidates``:
   when every one is a non-negative integer they are class indices and the classes
   are ``"0" .. max`` (no holes, so a label is its class's index); otherwise sorted;
4. ``"0" .. "K-1"`` where K is the longest ``probs`` list.

Nothing else is guessed: a lone numeric column (an ``entropy``, a ``score``) is never a
vocabulary of one class. When no rule applies the run stops with a hint naming
``--classes``, ``--prob-columns`` and any list column that holds probability rows
(``--probs-column NAME``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from labelprep.config import Options
from labelprep.errors import ColumnNotFoundError, VocabularyError
from labelprep.inputs.class_metadata import MAX_CLASSES, StoredClasses, stored_classes
from labelprep.inputs.ingest import (
    RAW_CANDIDATES,
    RAW_EXCLUDED,
    RAW_LABEL,
    RAW_PROBS,
    InputFile,
    collect_all,
)

VOCABULARY_SOURCES = ("given", "stored", "wide", "labels", "probs")


@dataclass(frozen=True)
class Vocabulary:
    """The classes of a run, and which column of each file holds each class."""

    classes: tuple[str, ...]
    class_columns: dict[str, tuple[str | None, ...]]
    notices: tuple[str, ...] = ()
    source: str = "given"
    """Where the classes came from: one of :data:`VOCABULARY_SOURCES`."""
    indices_first: bool = False
    """The input stores its classes as indices (a ClassLabel, ``n_classes``)."""

    def index_of(self) -> dict[str, int]:
        """Map a label as written to its class index: names, and 0-based indices.

        A name wins over an index: with classes ``("1", "0")``, label ``"0"`` is
        class ``"0"`` (index 1); unless the input stores its classes as indices (a
        Hugging Face ClassLabel), where ``"0"`` is the class at position 0.
        """
        indices = {str(i): i for i in range(len(self.classes))}
        names = {name: i for i, name in enumerate(self.classes)}
        return {**names, **indices} if self.indices_first else {**indices, **names}


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
_INTEGER = re.compile(r"[0-9]+")
_SHOWN = 20


def _shown(names: Sequence[str]) -> str:
    """A list of class names for a message (the first few of a long one)."""
    head = ", ".join(names[:_SHOWN])
    return head if len(names) <= _SHOWN else f"{head}, ... ({len(names)} in all)"


def _head_text(source: InputFile, names: Sequence[str]) -> pl.DataFrame:
    """The first rows of some columns of a CSV/TSV file, as text."""
    return source.head(names, _PROBE_ROWS)


def _as_numbers(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(pl.all().str.strip_chars().cast(pl.Float64, strict=False))


def _scan(source: InputFile) -> pl.LazyFrame:
    return source.typed()


def _probe(source: InputFile, names: Sequence[str]) -> pl.DataFrame:
    """The first rows of some columns, as Float64 (text that does not parse is null)."""
    if source.format in ("csv", "tsv"):
        return _as_numbers(_head_text(source, names))
    chosen = pl.col(list(names)).cast(pl.Float64, strict=False)
    return _scan(source).select(chosen).head(_PROBE_ROWS).collect()


def _numeric_names(source: InputFile, names: Sequence[str]) -> list[str]:
    """The columns that hold numbers (for text formats: judged on the first rows)."""
    if source.format not in ("csv", "tsv"):
        return [n for n in names if source.types[n].is_numeric() or source.types[n] == pl.Null]
    if not names:
        return []
    raw = _head_text(source, names)
    parsed = _as_numbers(raw)
    return [n for n in names if raw[n].null_count() == raw.height or parsed[n].is_not_null().any()]


def _look_like_probabilities(source: InputFile, names: Sequence[str]) -> bool:
    """On the first rows that fill any of the columns, do at least half hold values in
    [0, 1] that sum to 1 within 0.05?"""
    probe = _probe(source, names).filter(pl.any_horizontal(pl.all().is_not_null()))
    if probe.is_empty():
        return False
    in_range = pl.all_horizontal(pl.all().fill_null(0).is_between(0, 1))
    sums = (pl.sum_horizontal(pl.all()) - 1).abs() <= 0.05
    return bool(probe.select((in_range & sums).mean()).item() >= 0.5)


EVIDENCE_ROLES = ("probs", "label", "excluded", "candidates")


def numeric_columns(source: InputFile, options: Options) -> tuple[list[str], list[str], bool]:
    """The wide probability columns of a file, the numeric columns that are not, and
    whether the class columns were taken although their first rows are not probabilities.

    A lone numeric column (a ``score``, an ``entropy``) is never a class. Two or more
    numeric columns are classes when most of their first rows are probability rows (in
    [0, 1], summing to 1). Otherwise they are not, in a file that has ``probs``,
    ``label``, ``excluded`` or ``candidates`` or a list column of probability rows; in a
    file with no other evidence they are still the classes (rows that are not
    probabilities are rejected with their reason), with a notice.
    """
    free = [name for name in source.columns if name not in _reserved(options)]
    numeric = _numeric_names(source, free)
    if len(numeric) < 2:
        return [], numeric, False
    if _look_like_probabilities(source, numeric):
        return numeric, [], False
    has_evidence = any(getattr(options.columns, r) in source.columns for r in EVIDENCE_ROLES)
    if has_evidence or _probability_lists(source, options):
        return [], numeric, False
    return numeric, [], True


def _ignored_notice(source: InputFile, ignored: Sequence[str]) -> list[str]:
    if not ignored:
        return []
    return [
        f"{source.path}: ignoring column(s) {', '.join(map(repr, ignored))} "
        "(not a class column or a known role); pass --keep NAME to carry one along, "
        "or --classes to name the class columns."
    ]


@dataclass(frozen=True)
class _Columns:
    """What the columns of the inputs offer the vocabulary."""

    wide: list[str]
    notices: list[str]
    numeric: list[tuple[str, str]]  # (file, column): numeric, but not class columns


def _wide_columns(sources: Sequence[InputFile], options: Options) -> _Columns:
    wide: dict[str, None] = {}
    notices, numeric = [], []
    for source in sources:
        classes, others, doubtful = numeric_columns(source, options)
        wide.update(dict.fromkeys(classes))
        if doubtful:
            notices.append(
                f"{source.path}: reading the numeric columns {', '.join(map(repr, classes))} "
                "as class probabilities, although most of their first rows are not "
                "probability rows (in [0, 1], summing to 1); pass --classes or --prob-columns "
                "to choose the class columns."
            )
        numeric += [(source.path, name) for name in others]
        used = _reserved(options) | set(classes)
        notices += _ignored_notice(source, [c for c in source.columns if c not in used])
    return _Columns(list(wide), notices, numeric)


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
        .filter(pl.col("name") != "")
        .unique()
        for lf in frames
    ]
    found = collect_all([pl.concat(values).unique()])[0]
    return _sorted_names(found["name"].to_list())


def _from_names(names: Sequence[str]) -> tuple[list[str], str]:
    """Classes from the distinct names in the data: integers are class indices."""
    if not all(_INTEGER.fullmatch(name) for name in names):
        return list(names), "inferred from the distinct labels in the data"
    top = max(int(name) for name in names)
    if top >= MAX_CLASSES:
        raise VocabularyError(
            f"cannot infer the classes: the labels are integers up to {top}, which would "
            f"make {top + 1} classes; pass --classes a,b,c."
        )
    classes = [str(i) for i in range(top + 1)]
    how = f"inferred from the integer labels in the data, as class indices 0..{top}"
    absent = sorted(set(classes) - {str(int(name)) for name in names}, key=int)
    if absent:
        how += f" (no row names class {_shown(absent)}"
        how += "; if the labels are 1-based, pass --classes 1,2,...)" if absent == ["0"] else ")"
    return classes, how


def _longest_probs(frames: Sequence[pl.LazyFrame]) -> int:
    lengths = [lf.select(pl.col(RAW_PROBS).list.len().max()) for lf in frames]
    longest = collect_all([pl.concat(lengths).max()])[0].item()
    return int(longest or 0)


def _numeric_list(dtype: pl.DataType) -> bool:
    return isinstance(dtype, (pl.List, pl.Array)) and dtype.inner.is_numeric()


def _probability_lists(source: InputFile, options: Options) -> list[str]:
    """List columns of numbers (no other role) whose first rows look like probability rows
    (values in [0, 1] summing to 1): candidates for ``--probs-column``."""
    if source.format not in ("parquet", "jsonl", "frame"):
        return []
    lists = [
        name
        for name in source.columns
        if name not in _reserved(options) and _numeric_list(source.types[name])
    ]
    if not lists:
        return []
    row_ok = [
        (
            pl.col(n).cast(pl.List(pl.Float64)).list.eval(pl.element().is_between(0, 1)).list.all()
            & ((pl.col(n).cast(pl.List(pl.Float64)).list.sum() - 1).abs() <= 0.05)
        ).mean()
        for n in lists
    ]
    try:
        shares = _scan(source).head(_PROBE_ROWS).select(row_ok).collect().row(0)
    except pl.exceptions.PolarsError:
        return []  # only a hint
    return [n for n, share in zip(lists, shares, strict=True) if (share or 0) >= 0.5]


def _no_vocabulary(sources: Sequence[InputFile], found: _Columns, options: Options) -> str:
    """The message of a run whose classes cannot be inferred, with what might be meant."""
    message = (
        "cannot infer the classes: no label, excluded or candidates values, no "
        f"'{options.columns.probs}' lists, and no two numeric columns holding probability rows."
    )
    if found.numeric:
        columns = ", ".join(f"{name!r} ({path})" for path, name in found.numeric)
        message += (
            f" The numeric column(s) {columns} are not read as classes (a lone column, "
            "or values that are not probability rows)."
        )
    lists = [(s.path, name) for s in sources for name in _probability_lists(s, options)]
    for path, name in lists:
        message += (
            f" The list column {name!r} of {path} holds probability rows: "
            f"did you mean --probs-column {name}?"
        )
    return message + " Otherwise pass --classes a,b,c (and --prob-columns for class columns)."


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


def _given(
    sources: Sequence[InputFile], options: Options, stored: StoredClasses | None
) -> Vocabulary:
    classes = list(options.classes or options.prob_columns or ())
    notices = _unused_columns(sources, classes, options)
    if stored is not None and tuple(classes) != stored.names:
        notices.append(
            f"{stored.path} stores the classes {_shown(stored.names)} ({stored.where}); "
            "the given classes are used instead."
        )
    columns = _columns_per_file(sources, classes, options)
    return Vocabulary(tuple(classes), columns, tuple(notices), "given")


def _infer(
    sources: Sequence[InputFile],
    canonical: Sequence[pl.LazyFrame],
    options: Options,
    stored: StoredClasses | None,
    found: _Columns,
) -> tuple[list[str], str, str]:
    """(classes, how they were found, source) by the rules of the module docstring."""
    if stored is not None:
        return list(stored.names), f"read from {stored.where} of {stored.path}", "stored"
    if found.wide:
        return found.wide, "inferred from the probability columns", "wide"
    if names := _names_in_data(canonical):
        return *_from_names(names), "labels"
    if (k := _longest_probs(canonical)) > 0:
        how = f"inferred from the longest '{options.columns.probs}' list"
        return [str(i) for i in range(k)], how, "probs"
    raise VocabularyError(_no_vocabulary(sources, found, options))


def resolve_vocabulary(
    sources: Sequence[InputFile],
    canonical: Sequence[pl.LazyFrame],
    options: Options,
    *,
    stored_in: Sequence[InputFile] | None = None,
) -> Vocabulary:
    """Fix the class vocabulary of a run (see the module docstring).

    ``sources`` are the plain (non-vote) files, ``canonical`` the canonical frames of
    every input, and ``stored_in`` the files whose stored class names count (every
    input; ``sources`` when omitted).
    """
    files = sources if stored_in is None else stored_in
    if options.classes is not None or options.prob_columns is not None:
        try:  # only for a notice: given classes settle any disagreement
            stored = stored_classes(files, options)
        except VocabularyError:
            stored = None
        return _given(sources, options, stored)
    stored = stored_classes(files, options)
    found = _wide_columns(sources, options)
    classes, how, source = _infer(sources, canonical, options, stored, found)
    hint = (
        "pass --classes to use others"
        if source == "stored"
        else "pass --classes to fix the order and include classes with no examples"
    )
    notice = f"classes {how}: {_shown(classes)} ({hint})."
    columns = _columns_per_file(sources, classes, options)
    indices = stored is not None and stored.indices
    return Vocabulary(tuple(classes), columns, (*found.notices, notice), source, indices)
