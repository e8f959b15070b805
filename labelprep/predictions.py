"""A model's class probabilities per id, read and checked like any probabilities.

The file (CSV, TSV, Parquet, JSONL) has an id column and either one column per class
(named as the run's classes) or one list column of K probabilities (``probs``). Its rows
go through the same checks as probability evidence in a run (:mod:`labelprep.targets`):
``not_a_number``, ``wrong_length``, ``negative_probability``, ``probability_above_one``,
``bad_sum`` (or rescaled with ``renormalize``), ``missing_id`` and ``duplicate_id``; a
rejected row gets the same reason, column, value and message as in a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from labelprep.config import Options
from labelprep.errors import ColumnNotFoundError, InputError
from labelprep.evidence import TargetPlan, target
from labelprep.inputs.ingest import canonical_frame, collect_all, open_input
from labelprep.inputs.readers import ROW
from labelprep.rejects import reject_rows
from labelprep.targets import build_targets, rejected


@dataclass(frozen=True)
class Predictions:
    """The checked rows of a predictions file."""

    path: str
    ids: pl.Series
    """Ids of the accepted rows, cast to the run's id type."""
    probs: npt.NDArray[np.float64]
    """(rows, K) probabilities of the accepted rows (each row sums to 1)."""
    rows: pl.Series
    """Row numbers of the accepted rows in the file (for ``unknown_id`` rejects)."""
    rejects: pl.DataFrame
    """The rejected rows, in the columns of ``rejects.parquet``."""
    rows_in: int
    columns: str
    """Where the probabilities came from: ``a..c`` or the list column's name."""


def read_predictions(
    path: str | Path, classes: Sequence[str], id_type: pl.DataType, options: Options
) -> Predictions:
    """Read, check and normalize the predictions in ``path`` (see the module docstring)."""
    if not Path(path).is_file():
        raise InputError(f"{path}: no such file (the predictions).")
    source, lf = open_input(str(path), options, index=0)
    class_columns = _class_columns(source.path, source.columns, classes, options)
    frame = canonical_frame(source, lf, class_columns=class_columns, options=options)
    raw_is_string = tuple(
        name is not None and source.schema[name] == pl.String for name in class_columns
    )
    plan = TargetPlan(
        classes=tuple(classes),
        index_of={name: i for i, name in enumerate(classes)},
        options=options,
        raw_is_string=raw_is_string,
        kinds=frozenset({"wide"} if class_columns[0] is not None else {"list"}),
        id_is_text=not frame.collect_schema()["id"].is_numeric(),
    )
    checked = build_targets(frame, plan)
    k = len(classes)
    good, bad = collect_all(
        [
            checked.filter("__ok").select("id", ROW, *[target(i) for i in range(k)]),
            reject_rows(rejected(checked, plan), plan),
        ]
    )
    ids = _cast_ids(good["id"], id_type, source.path, good[ROW])
    probs = good.select([f"__t{i}" for i in range(k)]).to_numpy().astype(np.float64)
    columns = f"{classes[0]}..{classes[-1]}" if class_columns[0] is not None else None
    return Predictions(
        path=source.path,
        ids=ids,
        probs=probs.reshape(good.height, k),
        rows=good[ROW],
        rejects=bad,
        rows_in=good.height + bad.height,
        columns=columns or options.columns.probs,
    )


def _class_columns(
    path: str, columns: Sequence[str], classes: Sequence[str], options: Options
) -> list[str | None]:
    """One column per class (all of them), or none when the list column is used."""
    present = [name if name in columns else None for name in classes]
    if all(name is not None for name in present):
        return present
    if options.columns.probs in columns:
        return [None] * len(classes)
    missing = next(name for name in classes if name not in columns)
    error = ColumnNotFoundError.from_missing_and_available(
        missing, columns, source=path, role="probability"
    )
    raise ColumnNotFoundError(
        f"{error} Predictions need one column per class ({', '.join(classes[:3])}"
        f"{', ...' if len(classes) > 3 else ''}) or a list column "
        f"{options.columns.probs!r} (--probs-column NAME)."
    )


def _cast_ids(ids: pl.Series, id_type: pl.DataType, path: str, rows: pl.Series) -> pl.Series:
    """The ids as the run's id type; a value that does not convert stops with its row."""
    if ids.dtype == id_type:
        return ids
    if ids.dtype == pl.String and id_type != pl.String:
        cast = ids.str.strip_chars().cast(id_type, strict=False)
    else:
        cast = ids.cast(id_type, strict=False)
    failed = cast.is_null() & ids.is_not_null()
    if failed.any():
        first = int(failed.arg_true()[0])
        raise InputError(
            f"{path}: row {rows[first]}: id {ids[first]!r} cannot be read as the run's id "
            f"type ({id_type}); the predictions must use the ids of the run's targets."
        )
    return cast
