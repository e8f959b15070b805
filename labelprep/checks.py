"""The CI gate (:func:`validate`) and class-prior drift (:func:`compare`).

Both read the same inputs as ``run``; neither writes anything unless asked
(``validate(output_dir=...)`` also writes the run's outputs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl

from labelprep.api import resolve_run_inputs, vote_settings
from labelprep.config import GATE_SETTINGS, Options, config_settings, typed_gates
from labelprep.drift import CompareReport, prior_drift
from labelprep.errors import ConfigError, VocabularyError
from labelprep.gate import GateResult, RejectSample, ValidationReport, evaluate_threshold
from labelprep.outputs import CLASS_STATS, MANIFEST, REJECTS, atomic_directory
from labelprep.pipeline import (
    Prepared,
    class_statistics,
    count,
    execute,
    inspect,
    prepare,
    result_of,
)
from labelprep.rejects import REJECT_COLUMNS
from labelprep.summary import RunResult
from labelprep.weights import COUNT_COLUMNS

Align = Literal["exact", "union"]
"""How :func:`compare` (and a ``validate`` baseline) matches the classes of two sides."""


@dataclass(frozen=True)
class Thresholds:
    """The gates of ``validate``; ``None`` switches a gate off."""

    max_reject_rate: float | None = 0.0
    min_rows: float | None = None
    """Fewest rows accepted as a dataset; unset, an empty input still fails (floor 1)."""
    min_class_count: float | None = None
    max_imbalance_ratio: float | None = None
    require_classes: bool = False
    baseline: str | None = None
    max_linf: float | None = None
    max_jsd: float | None = None


@dataclass(frozen=True)
class ClassCounts:
    """Per-class counts of one side of a comparison."""

    label: str
    classes: tuple[str, ...]
    counts: tuple[float, ...]


def _split_gate_settings(settings: dict[str, Any]) -> tuple[Thresholds, dict[str, Any]]:
    gates = typed_gates({k: settings.pop(k) for k in GATE_SETTINGS if settings.get(k) is not None})
    return Thresholds(**gates), settings


def validate(
    inputs: Sequence[str | Path] | str | Path,
    *,
    output_dir: str | Path | None = None,
    samples_per_reason: int = 5,
    align: Align | None = None,
    config: str | Path | bool = True,
    **settings: Any,
) -> ValidationReport:
    """Check inputs against the gates; write outputs only when ``output_dir`` is given.

    Gates (keyword arguments, or the same keys in the config file): ``min_rows``
    (default 1: an empty input fails), ``max_reject_rate`` (default 0: any rejected row
    fails), ``min_class_count``
    (every class's count, by ``count_by``, at least this), ``max_imbalance_ratio``,
    ``require_classes`` (every class of the vocabulary present), ``baseline`` with
    ``max_linf`` / ``max_jsd`` (class-prior drift against a baseline dataset, output
    directory, ``class_stats.parquet`` or ``manifest.json``). Other keywords are the
    options of :func:`labelprep.run`, including the vote options (``layout``, ``missing``,
    ``duplicates``): vote files (an annotator column, or ``layout="wide"``) are checked
    vote by vote and aggregated, as by ``run``. ``align`` is that of :func:`compare`.

    Examples
    --------
    >>> import labelprep
    >>> report = labelprep.validate(labelprep.sample_paths()[:1], max_reject_rate=0.5)
    >>> report.passed, report.rejects_by_reason["bad_sum"]
    (True, 1)
    """
    settings = dict(settings)
    votes = vote_settings(settings)
    given = {k: v for k, v in settings.items() if v is not None}
    merged = {**config_settings(config), **given}  # the config file is read once
    paths, options = resolve_run_inputs(inputs, config=False, settings=merged)
    thresholds, _ = _split_gate_settings(merged)
    prepared = prepare(paths, options, votes=votes)
    result, samples = _result_and_samples(prepared, output_dir, samples_per_reason)
    settings["align"] = align or "exact"
    gates = _gates(thresholds, prepared, result.class_stats, result.summary, settings)
    return ValidationReport(
        inputs=tuple(str(p) for p in paths),
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
    inputs = [source.path for source in prepared.sources]
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
        gates.append(_min_class_gate(counts, t.min_class_count, prepared.options))
    if t.max_imbalance_ratio is not None:
        ratio = summary["dataset"].get("imbalance_ratio")
        gates.append(
            evaluate_threshold("max_imbalance_ratio", float(ratio or 1.0), t.max_imbalance_ratio)
        )
    if t.require_classes:
        gates.append(_require_classes_gate(counts))
    if t.baseline is not None:
        gates.extend(_baseline_gates(t, counts, settings))
    elif t.max_linf is not None or t.max_jsd is not None:
        raise ConfigError("max_linf / max_jsd need a baseline: pass --baseline FILE.")
    return gates


def _overall_counts(stats: pl.DataFrame, options: Options) -> ClassCounts:
    overall = stats.filter(pl.col("split").is_null()).sort("index")
    column = COUNT_COLUMNS[options.count_by]
    return ClassCounts("inputs", tuple(overall["class"]), tuple(float(v) for v in overall[column]))


def _min_class_gate(counts: ClassCounts, threshold: float, options: Options) -> GateResult:
    smallest = min(range(len(counts.counts)), key=lambda i: (counts.counts[i], i))
    return evaluate_threshold(
        "min_class_count",
        counts.counts[smallest],
        threshold,
        higher_is_worse=False,
        describe=f"smallest class count ({options.count_by})",
        detail=f"class {counts.classes[smallest]!r}",
    )


def _require_classes_gate(counts: ClassCounts) -> GateResult:
    missing = [c for c, n in zip(counts.classes, counts.counts, strict=True) if n <= 0]
    detail = "missing: " + ", ".join(missing) if missing else "all classes present"
    return evaluate_threshold(
        "require_classes",
        float(len(missing)),
        0.0,
        describe="classes with no examples",
        detail=detail,
    )


def _baseline_gates(
    t: Thresholds, counts: ClassCounts, settings: dict[str, Any]
) -> list[GateResult]:
    assert t.baseline is not None
    settings = dict(settings)
    align = settings.pop("align", "exact")
    base = load_class_counts(t.baseline, settings=settings)
    drift = _drift(base, counts, align=align)
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


def _drift(a: ClassCounts, b: ClassCounts, *, align: Align = "exact") -> Any:
    """Drift between two sides, matched by class name. Sides with different classes are
    an error naming them, unless ``align="union"`` (a class absent on a side counts 0)."""
    if align not in ("exact", "union"):
        raise ConfigError(f"align={align!r}: use exact or union.")
    only_a = [c for c in a.classes if c not in b.classes]
    only_b = [c for c in b.classes if c not in a.classes]
    if (only_a or only_b) and align == "exact":
        raise VocabularyError(
            f"{a.label} and {b.label} have different classes: only in {a.label}: "
            f"{', '.join(only_a) or '(none)'}; only in {b.label}: {', '.join(only_b) or '(none)'}. "
            "Pass --classes to read both with one vocabulary, or --align union to compare "
            "over the union of the classes (a class absent on one side counts 0 there)."
        )
    classes = list(dict.fromkeys([*a.classes, *b.classes]))
    lookup_a = dict(zip(a.classes, a.counts, strict=True))
    lookup_b = dict(zip(b.classes, b.counts, strict=True))
    return prior_drift(
        classes, [lookup_a.get(c, 0.0) for c in classes], [lookup_b.get(c, 0.0) for c in classes]
    )


def load_class_counts(
    source: str | Path,
    *,
    split: str | None = None,
    settings: dict[str, Any] | None = None,
) -> ClassCounts:
    """Per-class counts from a dataset, a run's output directory, its ``class_stats.parquet``
    or its ``manifest.json`` (by ``count_by``; of one split when ``split`` is given)."""
    settings = dict(settings or {})
    count_by = settings.get("count_by") or "soft"
    stats = load_stats(source, settings=settings)
    return _counts_of_split(stats, str(source), split, COUNT_COLUMNS[count_by])


def load_stats(
    source: str | Path, *, settings: dict[str, Any], config: str | Path | bool = False
) -> pl.DataFrame:
    """The class statistics of a dataset, or those a run already wrote."""
    stats_path = _stats_path(Path(source))
    if stats_path is not None:
        if not stats_path.is_file():
            raise ConfigError(f"{source}: no {CLASS_STATS} found there.")
        return pl.read_parquet(stats_path)
    paths, options = resolve_run_inputs([source], config=config, settings=settings)
    prepared = prepare(paths, options)
    return class_statistics(prepared, count(prepared))


def _stats_path(path: Path) -> Path | None:
    if path.is_dir():
        return path / CLASS_STATS
    if path.name == MANIFEST:
        return path.with_name(CLASS_STATS)
    if path.name == CLASS_STATS or (path.suffix == ".parquet" and _is_class_stats(path)):
        return path
    return None


def _is_class_stats(path: Path) -> bool:
    names = pl.read_parquet_schema(path)
    return {"class", "index", "soft_mass", "prior"} <= set(names)


def _counts_of_split(
    stats: pl.DataFrame, label: str, split: str | None, column: str
) -> ClassCounts:
    block = stats.filter(pl.col("split").is_null() if split is None else pl.col("split") == split)
    if block.is_empty():
        found = sorted(s for s in stats["split"].unique().to_list() if s is not None)
        raise ConfigError(
            f"{label}: no split {split!r}; the splits are: {', '.join(found) or '(none)'}."
        )
    block = block.sort("index")
    name = label if split is None else f"{label} [{split}]"
    return ClassCounts(name, tuple(block["class"]), tuple(float(v) for v in block[column]))


def compare(
    a: str | Path,
    b: str | Path | None = None,
    *,
    split_a: str | None = None,
    split_b: str | None = None,
    max_linf: float | None = None,
    max_jsd: float | None = None,
    align: Align = "exact",
    config: str | Path | bool = True,
    **settings: Any,
) -> CompareReport:
    """Class-prior drift from ``a`` to ``b`` (datasets, output directories, class stats).

    With ``b`` omitted, compares two splits of ``a`` (``split_a`` and ``split_b``; one
    of them may be left out to compare a split with the whole of ``a``): one side and
    no splits is a :class:`~labelprep.errors.ConfigError`. The two sides must have the
    same classes (in any order), else a :class:`~labelprep.errors.VocabularyError`
    names the classes found on one side only; ``align="union"`` compares them over the
    union of their classes instead, a class absent on one side counting 0 there.
    A gate fails when its distance is strictly above its threshold. Datasets are read
    with the options of :func:`labelprep.run` (``settings``, then the config file).

    Examples
    --------
    >>> import labelprep
    >>> report = labelprep.compare(labelprep.sample_paths()[0], split_a="train", split_b="val")
    >>> round(report.drift.linf, 4) > 0
    True
    """
    if b is None and split_a == split_b:
        raise ConfigError(
            f"compare needs two sides: give B, or two different splits of {a} "
            "(--split-a and --split-b)."
        )
    column = COUNT_COLUMNS[settings.get("count_by") or "soft"]
    stats_a = load_stats(a, settings=settings, config=config)
    stats_b = stats_a if b is None else load_stats(b, settings=settings, config=config)
    side_a = _counts_of_split(stats_a, str(a), split_a, column)
    side_b = _counts_of_split(stats_b, str(b if b is not None else a), split_b, column)
    drift = _drift(side_a, side_b, align=align)
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
