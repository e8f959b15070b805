"""The CI gate (:func:`validate`) and class-prior drift (:func:`compare`).

Both read the same inputs as ``run`` (paths, globs or in-memory frames); neither writes
anything unless asked (``validate(output_dir=...)`` also writes the run's outputs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from labelprep.class_counts import (
    Align,
    ClassCounts,
    counts_of_split,
    drift_between,
    load_class_counts,
    load_stats,
    side_label,
)
from labelprep.config import (
    GATE_SETTINGS,
    Compression,
    CountBy,
    InputFormat,
    Options,
    PartialMode,
    config_settings,
    typed_gates,
)
from labelprep.drift import CompareReport
from labelprep.engine import Engine, EngineName
from labelprep.errors import ConfigError
from labelprep.gate import (
    GateResult,
    RejectSample,
    ValidationReport,
    evaluate_threshold,
    min_class_gate,
    require_classes_gate,
)
from labelprep.inputs.frames import frame_label, is_frame
from labelprep.outputs import REJECTS, atomic_directory
from labelprep.parameters import (
    COMPARE_OPTIONS,
    RUN_OPTIONS,
    VOTE_OPTIONS,
    SampleWeight,
    documented,
    given,
    given_options,
    resolve_run_inputs,
    vote_settings,
)
from labelprep.pipeline import Prepared, execute, inspect, prepare
from labelprep.rejects import REJECT_COLUMNS
from labelprep.results import result_of
from labelprep.summary import RunResult
from labelprep.votes import DuplicatePolicy, VoteLayout
from labelprep.weights import COUNT_COLUMNS

if TYPE_CHECKING:
    from labelprep.parameters import Input, Inputs


@dataclass(frozen=True)
class Thresholds:
    """The gates of ``validate``; ``None`` switches a gate off."""

    max_reject_rate: float | None = 0.0
    min_rows: float | None = None
    """Fewest rows accepted as a dataset; unset, an empty input still fails (floor 1)."""
    min_class_count: float | None = None
    max_imbalance_ratio: float | None = None
    require_classes: bool = False
    baseline: Input | None = None
    max_linf: float | None = None
    max_jsd: float | None = None


def _split_gate_settings(settings: dict[str, Any]) -> Thresholds:
    """The gates among merged settings; a baseline frame is taken as it is."""
    baseline = settings.get("baseline")
    frame = baseline if is_frame(baseline) else None
    values = {k: settings[k] for k in GATE_SETTINGS if settings.get(k) is not None}
    if frame is not None:
        del values["baseline"]
    thresholds = Thresholds(**typed_gates(values))
    return thresholds if frame is None else replace(thresholds, baseline=frame)


@documented(
    GATE_SETTINGS,
    RUN_OPTIONS,
    VOTE_OPTIONS,
    defaults={"max_reject_rate": 0.0, "require_classes": False},
)
def validate(
    inputs: Inputs,
    *,
    output_dir: str | Path | None = None,
    samples_per_reason: int = 5,
    align: Align | None = None,
    config: str | Path | bool = True,
    min_rows: float | None = None,
    max_reject_rate: float | None = None,
    min_class_count: float | None = None,
    max_imbalance_ratio: float | None = None,
    require_classes: bool | None = None,
    baseline: Input | None = None,
    max_linf: float | None = None,
    max_jsd: float | None = None,
    classes: Sequence[str] | str | None = None,
    id_column: str | None = None,
    label_column: str | None = None,
    probs_column: str | None = None,
    excluded_column: str | None = None,
    candidates_column: str | None = None,
    split_column: str | None = None,
    annotator_column: str | None = None,
    prob_columns: Sequence[str] | str | None = None,
    list_delimiter: str | None = None,
    input_format: InputFormat | None = None,
    tolerance: float | None = None,
    renormalize: bool | None = None,
    partial: PartialMode | None = None,
    smoothing: float | None = None,
    count_by: CountBy | None = None,
    beta: float | None = None,
    tau: float | None = None,
    separator: str | None = None,
    no_header: bool | None = None,
    column_names: Sequence[str] | str | None = None,
    quote_char: str | None = None,
    id_from_row: bool | None = None,
    keep: Sequence[str] | str | None = None,
    sample_weight: SampleWeight | None = None,
    compression: Compression | None = None,
    split_files: bool | None = None,
    layout: VoteLayout = "long",
    missing: str | Sequence[str] = ("-1",),
    duplicates: DuplicatePolicy = "keep",
    engine: EngineName = "local",
    scheduler: str | None = None,
    workers: int | None = None,
) -> ValidationReport:
    """Check inputs against the gates; write outputs only when ``output_dir`` is given.

    The gates are keyword arguments, or the same keys in the config file; vote files (an
    annotator column, or ``layout="wide"``) are checked vote by vote and aggregated, as
    by :func:`labelprep.run`.

    Parameters
    ----------
    inputs
        Files, globs or in-memory frames, as for :func:`labelprep.run`.
    output_dir
        Also write the run's outputs there (nothing is written when None).
    samples_per_reason
        Rejected rows kept per reason in the report.
    align
        How the classes of a ``baseline`` are matched, as for :func:`compare`.
    config
        As for :func:`labelprep.run`.
    engine, scheduler, workers
        Where the passes run, as for :func:`labelprep.run`.

    Examples
    --------
    >>> import labelprep
    >>> report = labelprep.validate(labelprep.sample_paths()[:1], max_reject_rate=0.5)
    >>> report.passed, report.rejects_by_reason["bad_sum"]
    (True, 1)
    """
    settings = {**given(locals()), **given_options(locals(), GATE_SETTINGS)}
    if isinstance(baseline, Path):
        settings["baseline"] = str(baseline)
    votes = vote_settings(layout, missing, duplicates)
    merged = {**config_settings(config), **settings}  # the config file is read once
    if is_frame(merged.get("baseline")):
        merged = {**merged, "baseline": None}
    paths, options = resolve_run_inputs(inputs, config=False, settings=merged)
    thresholds = _split_gate_settings({**merged, **settings})
    on = Engine(engine, scheduler, workers)
    prepared = prepare(paths, options, votes=votes, passes=on.local)
    if on.local:
        result, samples = _result_and_samples(prepared, output_dir, samples_per_reason)
    else:
        from labelprep.engine import dask_run

        result, samples = dask_run.result_and_samples(
            prepared, output_dir, on, samples_per_reason=samples_per_reason
        )
    settings = {k: v for k, v in settings.items() if k not in GATE_SETTINGS}
    settings["align"] = align or "exact"
    gates = _gates(thresholds, prepared, result.class_stats, result.summary, settings)
    return ValidationReport(
        inputs=tuple(frame_label(i) if is_frame(p) else str(p) for i, p in enumerate(paths)),
        rows_in=result.rows_in,
        rows_accepted=result.rows_accepted,
        rows_rejected=result.rows_rejected,
        rejects_by_reason=result.rejects_by_reason,
        samples=tuple(RejectSample(**row) for row in samples.iter_rows(named=True)),
        gates=tuple(gates),
        classes=prepared.classes,
        notices=prepared.vocabulary.notices,
        config=prepared.options.config_file,
    )


def _result_and_samples(
    prepared: Prepared, output_dir: str | Path | None, samples_per_reason: int
) -> tuple[RunResult, pl.DataFrame]:
    """Count (and write the outputs when asked), keeping the first rejects of each reason."""
    if output_dir is None:
        counts, samples = inspect(prepared, samples_per_reason=samples_per_reason)
        return result_of(prepared, counts, None), samples
    inputs = [source.path for source in prepared.sources if source.format != "frame"]
    with atomic_directory(output_dir, inputs=inputs) as staging:
        result = execute(prepared, staging)
        samples = (
            pl.scan_parquet(staging / REJECTS)
            .group_by("reason", maintain_order=True)
            .head(samples_per_reason)
            .select(REJECT_COLUMNS)
            .collect()
        )
    return result, samples


def _gates(
    t: Thresholds,
    prepared: Prepared,
    stats: pl.DataFrame,
    summary: dict[str, Any],
    settings: dict[str, Any],
) -> list[GateResult]:
    rows_in, rejected = summary["rows_in"], summary["rows_rejected"]
    rate = rejected / rows_in if rows_in else 0.0
    gates = [
        evaluate_threshold(
            "max_reject_rate",
            rate,
            t.max_reject_rate,
            detail=f"{rejected} of {rows_in} rows rejected",
        )
    ]
    least = t.min_rows if t.min_rows is not None else 1.0
    if t.min_rows is not None or rows_in < least:  # shown when set, or when it fails
        gates.insert(
            0,
            evaluate_threshold(
                "min_rows", float(rows_in), least, higher_is_worse=False, describe="rows in"
            ),
        )
    counts = _overall_counts(stats, prepared.options)
    if t.min_class_count is not None:
        gates.append(min_class_gate(counts, t.min_class_count, prepared.options.count_by))
    if t.max_imbalance_ratio is not None:
        ratio = summary["dataset"].get("imbalance_ratio")
        gates.append(
            evaluate_threshold("max_imbalance_ratio", float(ratio or 1.0), t.max_imbalance_ratio)
        )
    if t.require_classes:
        gates.append(require_classes_gate(counts))
    if t.baseline is not None:
        gates.extend(_baseline_gates(t, counts, settings))
    elif t.max_linf is not None or t.max_jsd is not None:
        raise ConfigError("max_linf / max_jsd need a baseline: pass --baseline FILE.")
    return gates


def _overall_counts(stats: pl.DataFrame, options: Options) -> ClassCounts:
    overall = stats.filter(pl.col("split").is_null()).sort("index")
    column = COUNT_COLUMNS[options.count_by]
    return ClassCounts("inputs", tuple(overall["class"]), tuple(float(v) for v in overall[column]))


def _baseline_gates(
    t: Thresholds, counts: ClassCounts, settings: dict[str, Any]
) -> list[GateResult]:
    assert t.baseline is not None
    settings = dict(settings)
    align = settings.pop("align", "exact")
    base = load_class_counts(t.baseline, settings=settings)
    drift = drift_between(base, counts, align=align)
    return [
        evaluate_threshold(
            "max_linf",
            drift.linf,
            t.max_linf,
            describe="class-prior L-infinity vs baseline",
            detail=f"largest on {drift.linf_class!r}",
        ),
        evaluate_threshold(
            "max_jsd",
            drift.jsd,
            t.max_jsd,
            describe="class-prior Jensen-Shannon divergence vs baseline",
        ),
    ]


@documented(("max_linf", "max_jsd"), COMPARE_OPTIONS)
def compare(
    a: Inputs,
    b: Inputs | None = None,
    *,
    split_a: str | None = None,
    split_b: str | None = None,
    max_linf: float | None = None,
    max_jsd: float | None = None,
    align: Align = "exact",
    config: str | Path | bool = True,
    classes: Sequence[str] | str | None = None,
    id_column: str | None = None,
    label_column: str | None = None,
    probs_column: str | None = None,
    excluded_column: str | None = None,
    candidates_column: str | None = None,
    split_column: str | None = None,
    annotator_column: str | None = None,
    prob_columns: Sequence[str] | str | None = None,
    list_delimiter: str | None = None,
    input_format: InputFormat | None = None,
    tolerance: float | None = None,
    renormalize: bool | None = None,
    partial: PartialMode | None = None,
    smoothing: float | None = None,
    count_by: CountBy | None = None,
    separator: str | None = None,
    no_header: bool | None = None,
    column_names: Sequence[str] | str | None = None,
    quote_char: str | None = None,
    id_from_row: bool | None = None,
) -> CompareReport:
    """Class-prior drift from ``a`` to ``b`` (datasets, output directories, class stats).

    Each side is a dataset (paths, globs or in-memory frames), a run's output directory,
    its ``class_stats.parquet`` or ``manifest.json``, or a class statistics frame.

    With ``b`` omitted, compares two splits of ``a`` (``split_a`` and ``split_b``; one
    of them may be left out to compare a split with the whole of ``a``): one side and
    no splits is a :class:`~labelprep.errors.ConfigError`. The two sides must have the
    same classes (in any order), else a :class:`~labelprep.errors.VocabularyError`
    names the classes found on one side only; ``align="union"`` compares them over the
    union of their classes instead, a class absent on one side counting 0 there.
    A gate fails when its distance is strictly above its threshold. Datasets are read
    with the options of :func:`labelprep.run` (the keywords, then the config file).

    Examples
    --------
    >>> import labelprep
    >>> report = labelprep.compare(labelprep.sample_paths()[0], split_a="train", split_b="val")
    >>> round(report.drift.linf, 4) > 0
    True
    """
    if b is None and split_a == split_b:
        raise ConfigError(
            f"compare needs two sides: give B, or two different splits of {side_label(a, 'A')} "
            "(--split-a and --split-b)."
        )
    settings = given_options(locals(), COMPARE_OPTIONS)
    column = COUNT_COLUMNS[settings.get("count_by") or "soft"]
    stats_a = load_stats(a, settings=settings, config=config)
    stats_b = stats_a if b is None else load_stats(b, settings=settings, config=config)
    label_a = side_label(a, "<frame A>")
    side_a = counts_of_split(stats_a, label_a, split_a, column)
    side_b = counts_of_split(
        stats_b, label_a if b is None else side_label(b, "<frame B>"), split_b, column
    )
    drift = drift_between(side_a, side_b, align=align)
    gates = (
        evaluate_threshold(
            "max_linf",
            drift.linf,
            max_linf,
            describe="class-prior L-infinity",
            detail=f"largest on {drift.linf_class!r}",
        ),
        evaluate_threshold(
            "max_jsd", drift.jsd, max_jsd, describe="class-prior Jensen-Shannon divergence"
        ),
    )
    return CompareReport(side_a.label, side_b.label, drift, gates)
