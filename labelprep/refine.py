"""Refine a run's targets with a model's class probabilities: ``labelprep refine``.

Each row of a run keeps its candidate mask ``m``; given a model's probabilities ``q`` for
its id, the new soft target is

    new_i = m_i * q_i^(1/T) / sum_j m_j * q_j^(1/T)        (T = ``temperature``)
    target = mix * previous + (1 - mix) * new             (``mix`` = weight kept)

the ``p_i q_i`` of the SPEC's second question as a distribution, and the target-update
step of progressive partial-label learning (PRODEN, Lv et al. 2020: ``mix=0``, ``T=1``).
Rows whose mask allows a single class keep their target; ids without a (valid)
prediction keep their target and are counted; a row whose mask and prediction share no
mass is rejected (``no_overlap``). Prediction rows are checked like any probabilities
(:mod:`labelprep.predictions`); a valid prediction for an id the run does not have is
rejected (``unknown_id``); both reasons are in :data:`labelprep.targets.STEP_REASONS`.
The result is a new output directory with the run's contract. The run's targets are its
``targets.parquet`` or, for a run on the Dask engine, the part files of ``targets/`` read in
name order (:mod:`labelprep.run_targets`): the same rows, so the same refined outputs; a
rejected row then names its part file and its row there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from labelprep.config import build_options
from labelprep.errors import ConfigError, InputError
from labelprep.outputs import (
    CLASS_STATS,
    MANIFEST,
    REJECTS,
    TARGETS,
    atomic_directory,
    parquet_metadata,
    read_manifest,
    write_parquet,
    write_reports,
)
from labelprep.predictions import Predictions, read_predictions
from labelprep.refine_stats import (
    refine_counts,
    refined_class_stats,
    refined_summary,
    write_refine_manifest,
)
from labelprep.rejects import REJECT_COLUMNS
from labelprep.run_targets import RunTargets, read_run_targets
from labelprep.schema import rejects_schema, targets_schema

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

REFINED, SINGLE, NO_PREDICTION, NO_OVERLAP = 0, 1, 2, 3
"""What happened to each row of the run (:func:`combine`)."""


@dataclass(frozen=True)
class RefineResult:
    """What a refine step produced."""

    output_dir: Path
    classes: tuple[str, ...]
    rows_in: int
    rows_accepted: int
    rows_rejected: int
    refined: int
    single_class: int
    no_prediction: int
    argmax_changed: int
    predictions_in: int
    predictions_rejected_by_reason: dict[str, int]
    class_stats: pl.DataFrame
    summary: dict[str, Any]


def combine(
    previous: Floats,
    mask: Bools,
    probs: Floats,
    has_prediction: Bools,
    *,
    mix: float = 0.0,
    temperature: float = 1.0,
) -> tuple[Floats, npt.NDArray[np.int8]]:
    """New targets (n, K) and each row's status (:data:`REFINED` ...), all rows at once.

    ``probs`` rows without a prediction are ignored. The power ``1/T`` is taken in log
    space, so a small temperature does not underflow.

    Examples
    --------
    >>> import numpy as np
    >>> new, status = combine(np.array([[0.5, 0.5, 0.0]]), np.array([[True, True, False]]),
    ...                       np.array([[0.2, 0.6, 0.2]]), np.array([True]))
    >>> new.round(3).tolist(), status.tolist()
    ([[0.25, 0.75, 0.0]], [0])
    """
    with np.errstate(divide="ignore"):
        logits = np.where(mask & has_prediction[:, None], np.log(probs) / temperature, -np.inf)
    top = logits.max(axis=1, initial=-np.inf)
    overlap = np.isfinite(top)
    weights = np.exp(logits - np.where(overlap, top, 0.0)[:, None])
    new = weights / np.where(overlap, weights.sum(axis=1), 1.0)[:, None]
    single = mask.sum(axis=1) == 1
    status = np.full(len(previous), REFINED, dtype=np.int8)
    status[~overlap] = NO_OVERLAP
    status[~has_prediction] = NO_PREDICTION
    status[single] = SINGLE
    keep = status != REFINED
    result = np.where(keep[:, None], previous, mix * previous + (1.0 - mix) * new)
    return result, status


def refine(
    run_dir: str | Path,
    predictions: str | Path,
    *,
    output_dir: str | Path,
    mix: float = 0.0,
    temperature: float = 1.0,
    id_column: str | None = None,
    probs_column: str | None = None,
    tolerance: float | None = None,
    renormalize: bool | None = None,
    input_format: str | None = None,
) -> RefineResult:
    """Combine a run's candidate masks with a model's probabilities (module docstring).

    Parameters
    ----------
    run_dir
        A labelprep output directory (of ``run``, ``aggregate`` or ``refine``).
    predictions
        Per id, the model's probabilities: one column per class or a list column.
    output_dir
        The new output directory; it may not be ``run_dir``.
    mix
        Weight kept on the previous target, in [0, 1] (0: the new target only).
    temperature
        T > 0; the probabilities are raised to 1/T before masking (T > 1 flattens).

    Examples
    --------
    >>> import labelprep, polars as pl, tempfile
    >>> tmp = tempfile.mkdtemp()
    >>> pl.DataFrame({"id": [1], "candidates": [["a", "b"]]}).write_parquet(f"{tmp}/c.parquet")
    >>> _ = labelprep.run([f"{tmp}/c.parquet"], output_dir=f"{tmp}/run", classes="a,b,c",
    ...                   config=False)
    >>> pl.DataFrame({"id": [1], "a": [0.1], "b": [0.3], "c": [0.6]}).write_csv(f"{tmp}/q.csv")
    >>> result = labelprep.refine(f"{tmp}/run", f"{tmp}/q.csv", output_dir=f"{tmp}/epoch1")
    >>> pl.read_parquet(f"{tmp}/epoch1/targets.parquet")["soft_target"].to_list()
    [[0.25, 0.75, 0.0]]
    """
    _check_settings(run_dir, output_dir, mix, temperature)
    run = _read_run(Path(run_dir))
    options = build_options(
        {
            "id_column": id_column,
            "probs_column": probs_column,
            "tolerance": tolerance,
            "renormalize": renormalize,
            "input_format": input_format,
        }
    )
    preds = read_predictions(predictions, run.classes, run.targets["id"].dtype, options)
    with atomic_directory(output_dir) as staging:
        result = _write(run, preds, staging, mix=mix, temperature=temperature)
    return RefineResult(**{**result, "output_dir": Path(output_dir)})


def _check_settings(
    run_dir: str | Path, output_dir: str | Path, mix: float, temperature: float
) -> None:
    if not 0.0 <= mix <= 1.0:
        raise ConfigError(f"mix must be in [0, 1] (the weight kept on the previous target): {mix}")
    if not (temperature > 0 and np.isfinite(temperature)):
        raise ConfigError(f"temperature must be a positive number: {temperature}")
    if Path(output_dir).resolve() == Path(run_dir).resolve():
        raise ConfigError(
            f"{output_dir}: refine writes a new output directory and never replaces the run "
            "it reads; pass another -o directory (e.g. one per epoch)."
        )


@dataclass(frozen=True)
class _Run:
    """A previous output directory, read."""

    path: Path
    manifest: dict[str, Any]
    classes: tuple[str, ...]
    targets: pl.DataFrame
    stats: pl.DataFrame
    read: RunTargets
    """Where ``targets`` came from: ``targets.parquet`` or the part files."""

    @property
    def options(self) -> dict[str, Any]:
        options: dict[str, Any] = self.manifest.get("options", {})
        return options


def _read_run(folder: Path) -> _Run:
    manifest = read_manifest(folder)
    read = read_run_targets(folder)
    targets = read.frame
    try:
        stats = pl.read_parquet(folder / CLASS_STATS)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"{folder}: cannot read the run's outputs: {exc}") from exc
    classes = tuple(manifest.get("classes") or ())
    missing = {"id", "soft_target", "mask", "hard_index"} - set(targets.columns)
    if not classes or missing:
        raise InputError(f"{folder}: {TARGETS} or {MANIFEST} is not a labelprep output's.")
    if float(manifest.get("options", {}).get("smoothing") or 0.0) > 0:
        raise ConfigError(
            f"{folder}: the run used label smoothing, so its masks are the classes not "
            "excluded rather than the candidates; run again without --smoothing to refine."
        )
    return _Run(folder, manifest, classes, targets, stats, read)


def _write(
    run: _Run, preds: Predictions, folder: Path, *, mix: float, temperature: float
) -> dict[str, Any]:
    """Join, combine, and write every output of the step into ``folder``."""
    k = len(run.classes)
    joined = _join(run.targets, preds)
    has = joined["__pred"].is_not_null().to_numpy()
    probs = np.zeros((run.targets.height, k))
    probs[has] = preds.probs[joined["__pred"].drop_nulls().to_numpy()]
    previous = _stack(run.targets["soft_target"], k, np.float64)
    mask = _stack(run.targets["mask"], k, np.bool_)
    new, status = combine(previous, mask, probs, has, mix=mix, temperature=temperature)
    targets, kept, changed = _targets(run, new, status)
    rejects = rejects_schema().validate(_rejects(run, preds, status), lazy=True)
    stats = refined_class_stats(
        run.classes, targets, run.stats, run.targets.filter(pl.Series(~kept)), run.options
    )
    targets = _with_sample_weight(targets, stats, run.options.get("sample_weight"))
    _write_tables(folder, run, targets, rejects, stats)
    counts = refine_counts(_by_status(status), changed, preds, rejects)
    summary = refined_summary(
        run.classes, targets, stats, counts, inputs=_inputs(run, preds), options=run.options
    )
    summary["options"] = {**run.options, "refine": {"mix": mix, "temperature": temperature}}
    write_reports(folder, stats, summary)
    write_refine_manifest(folder, run.path, summary)
    return {
        "classes": run.classes,
        "rows_in": run.targets.height,
        "rows_accepted": targets.height,
        "rows_rejected": counts["no_overlap"],
        **{key: counts[key] for key in ("refined", "single_class", "no_prediction")},
        "argmax_changed": changed,
        "predictions_in": preds.rows_in,
        "predictions_rejected_by_reason": counts["predictions"]["rejected_by_reason"],
        "class_stats": stats,
        "summary": summary,
    }


def _write_tables(
    folder: Path, run: _Run, targets: pl.DataFrame, rejects: pl.DataFrame, stats: pl.DataFrame
) -> None:
    """``targets.parquet`` (checked against its contract), rejects and class statistics."""
    targets_schema(run.classes).validate(targets, lazy=True)
    metadata = parquet_metadata(run.classes, targets.schema, list_columns=("soft_target", "mask"))
    compression = str(run.options.get("compression") or "snappy")
    write_parquet(targets, folder / TARGETS, metadata=metadata, compression=compression)
    plain = {"labelprep.classes": json.dumps(list(run.classes))}
    write_parquet(rejects, folder / REJECTS, metadata=plain, compression=compression)
    write_parquet(stats, folder / CLASS_STATS, metadata=plain)


def _by_status(status: npt.NDArray[np.int8]) -> dict[str, int]:
    counts = np.bincount(status, minlength=4)
    names = {REFINED: "refined", SINGLE: "single_class", NO_PREDICTION: "no_prediction"}
    return {**{n: int(counts[c]) for c, n in names.items()}, "no_overlap": int(counts[NO_OVERLAP])}


def _inputs(run: _Run, preds: Predictions) -> list[dict[str, Any]]:
    """The run's targets file (or each of its part files), then the predictions."""
    files = zip(run.read.files, run.read.rows, strict=True)
    return [
        *({"path": str(path), "format": "parquet", "rows": rows} for path, rows in files),
        {"path": preds.path, "rows": preds.rows_in},
    ]


def _join(targets: pl.DataFrame, preds: Predictions) -> pl.DataFrame:
    """Per row of the run: the position of its prediction (``__pred``, null when none)."""
    found = pl.DataFrame({"id": preds.ids}).with_row_index("__pred")
    return targets.select("id").join(found, on="id", how="left", maintain_order="left")


def _stack(column: pl.Series, k: int, dtype: Any) -> Any:
    return column.to_numpy().astype(dtype).reshape(len(column), k)


def _targets(
    run: _Run, new: Floats, status: npt.NDArray[np.int8]
) -> tuple[pl.DataFrame, Bools, int]:
    """The refined targets frame (the run's columns and order), the kept rows, and how
    many argmaxes changed."""
    kept = status != NO_OVERLAP
    stored = new[kept].astype(np.float32)
    hard = stored.argmax(axis=1)  # ties go to the first class, as in a run
    frame = run.targets.filter(pl.Series(kept))
    changed = int(np.count_nonzero(hard != frame["hard_index"].to_numpy()))
    k = len(run.classes)
    names = pl.Series(list(run.classes), dtype=pl.String)
    columns = [
        pl.Series("soft_target", stored, dtype=pl.Array(pl.Float32, k)),
        pl.Series("hard_index", hard, dtype=pl.Int64),
        names.gather(pl.Series(hard)).alias("hard_label"),
    ]
    return frame.with_columns(columns), kept, changed


def _with_sample_weight(targets: pl.DataFrame, stats: pl.DataFrame, scheme: Any) -> pl.DataFrame:
    """``sample_weight = sum_k target_k * w_k`` with the refined statistics' weights of the
    run's scheme (only when the run's targets have the column)."""
    if "sample_weight" not in targets.columns or scheme not in stats.columns:
        return targets
    weights = stats.filter(pl.col("split").is_null()).sort("index")[scheme].to_numpy()
    stored = _stack(targets["soft_target"], len(weights), np.float64)
    return targets.with_columns(pl.Series("sample_weight", stored @ weights, dtype=pl.Float32))


def _rejects(run: _Run, preds: Predictions, status: npt.NDArray[np.int8]) -> pl.DataFrame:
    """Rows of the run with no overlap, predictions for unknown ids, and the predictions'
    own rejects, in the columns of ``rejects.parquet``."""
    at = run.read.locate(np.flatnonzero(status == NO_OVERLAP))
    at = at.rename({"source": "__source", "row": "__row"})  # beside the targets' own columns
    lost = pl.concat([run.targets.filter(pl.Series(status == NO_OVERLAP)), at], how="horizontal")
    candidates = pl.Series(list(run.classes)).implode()
    allowed = pl.col("mask").arr.to_list().list.eval(pl.element().arg_true())
    names = pl.lit(candidates).list.gather(allowed).list.join("|")
    no_overlap = lost.select(
        pl.col("__source").alias("source"),
        pl.col("__row").alias("row"),
        pl.col("id").cast(pl.String),
        pl.lit("no_overlap").alias("reason"),
        pl.lit("mask").alias("column"),
        names.alias("value"),
        pl.format(
            "the prediction in {} gives no probability to the row's candidates '{}'",
            pl.lit(preds.path),
            names,
        ).alias("message"),
    )
    given = pl.DataFrame({"id": preds.ids, "row": preds.rows})
    unknown = given.join(run.targets.select("id"), on="id", how="anti", maintain_order="left")
    unknown = unknown.select(
        pl.lit(preds.path).alias("source"),
        pl.col("row").cast(pl.Int64),
        pl.col("id").cast(pl.String),
        pl.lit("unknown_id").alias("reason"),
        pl.lit("id").alias("column"),
        pl.col("id").cast(pl.String).alias("value"),
        pl.format("id '{}' is not among the run's targets", pl.col("id")).alias("message"),
    )
    parts = [no_overlap, preds.rejects.select(REJECT_COLUMNS), unknown]
    return pl.concat([p.cast(no_overlap.schema) for p in parts])
