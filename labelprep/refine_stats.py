"""Class statistics, summary and manifest of a refine step (see :mod:`labelprep.refine`).

The counts a run takes from its targets (soft mass, support, hard count, candidate
count) are recomputed from the refined targets. ``labelled_count`` and
``excluded_count`` describe the rows' evidence, which refine does not change: they are
the run's, less the rows refine rejected (a rejected row with a label counts at its
previous argmax, one with an excluded set at the classes its mask rules out; exact
unless that row also had probabilities or candidates).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import polars as pl

from labelprep import __version__
from labelprep.outputs import MANIFEST, output_entries, sha256_file, write_json
from labelprep.predictions import Predictions
from labelprep.schema import class_stats_schema
from labelprep.stats import class_counts, row_counts, row_summary
from labelprep.summary import manifest_summary
from labelprep.targets import EVIDENCE_NAMES
from labelprep.weights import CountBy, add_weights, dataset_summary

Floats = npt.NDArray[np.float64]
_EVIDENCE_CODE = {name: code for code, name in reversed(list(enumerate(EVIDENCE_NAMES)))}


def refined_class_stats(
    classes: Sequence[str],
    targets: pl.DataFrame,
    previous: pl.DataFrame,
    dropped: pl.DataFrame,
    options: dict[str, Any],
) -> pl.DataFrame:
    """``class_stats.parquet`` of the refined ``targets`` (``previous``: the run's class
    statistics; ``dropped``: the run's rows refine rejected)."""
    k = len(classes)
    splits = _split_values(targets, dropped)
    rows = [_split_sums(targets, previous, dropped, split, k) for split in splits]
    columns = ["split", "rows", *[f"{c}_{i}" for c in _COLUMNS for i in range(k)]]
    sums = pl.DataFrame(
        [[s, *r] for s, r in zip(splits, rows, strict=True)],
        schema={"split": pl.String, **dict.fromkeys(columns[1:], pl.Float64)},
        orient="row",
    ).with_columns(pl.col("rows").cast(pl.Int64))
    table = class_counts(sums, classes)
    stats = add_weights(
        table,
        count_by=_count_by(options),
        beta=_number(options, "beta", 0.999),
        tau=_number(options, "tau", 1.0),
    )
    return class_stats_schema(classes).validate(stats, lazy=True)


def _count_by(options: dict[str, Any]) -> CountBy:
    value = options.get("count_by")
    return cast("CountBy", value) if value in ("soft", "support", "hard") else "soft"


def _number(options: dict[str, Any], key: str, default: float) -> float:
    value = options.get(key)
    return float(value) if isinstance(value, (int, float)) else default


_COLUMNS = (
    "soft_mass",
    "support",
    "hard_count",
    "labelled_count",
    "candidate_count",
    "excluded_count",
)


def _split_values(targets: pl.DataFrame, dropped: pl.DataFrame) -> list[str | None]:
    if "split" not in targets.columns:
        return [None]
    values = pl.concat([targets["split"], dropped["split"]]).unique(maintain_order=True)
    return sorted(values.to_list(), key=lambda v: (v is not None, v or ""))


def _rows_of(frame: pl.DataFrame, split: str | None) -> pl.DataFrame:
    if "split" not in frame.columns:
        return frame
    chosen = pl.col("split").is_null() if split is None else pl.col("split") == split
    return frame.filter(chosen)


def _split_sums(
    targets: pl.DataFrame, previous: pl.DataFrame, dropped: pl.DataFrame, split: str | None, k: int
) -> list[float]:
    """``[rows, *per-class sums]`` of the refined rows of one split (as a run's tap)."""
    rows = _rows_of(targets, split)
    stored = rows["soft_target"].to_numpy().reshape(rows.height, k).astype(np.float64)
    mask = rows["mask"].to_numpy().reshape(rows.height, k)
    labelled, excluded = _evidence_counts(previous, _rows_of(dropped, split), split, k, targets)
    per_class = [
        stored.sum(axis=0),
        np.count_nonzero(stored > 0, axis=0),
        np.bincount(rows["hard_index"].to_numpy(), minlength=k),
        labelled,
        np.count_nonzero(mask, axis=0),
        excluded,
    ]
    return [float(rows.height), *np.concatenate(per_class).astype(np.float64).tolist()]


def _evidence_counts(
    previous: pl.DataFrame, dropped: pl.DataFrame, split: str | None, k: int, targets: pl.DataFrame
) -> tuple[Floats, Floats]:
    """(labelled_count, excluded_count) of one split: the run's, less the dropped rows."""
    block = _previous_block(previous, split, has_split="split" in targets.columns)
    mask = dropped["mask"].to_numpy().reshape(dropped.height, k)
    evidence = dropped["evidence"]
    had_label = evidence.str.contains("label").to_numpy()
    had_excluded = evidence.str.contains("excluded").to_numpy()
    hard = dropped["hard_index"].to_numpy()[had_label]
    labelled = block[0] - np.bincount(hard, minlength=k)
    excluded = block[1] - np.count_nonzero(~mask[had_excluded], axis=0)
    return np.maximum(labelled, 0), np.maximum(excluded, 0)


def _previous_block(previous: pl.DataFrame, split: str | None, *, has_split: bool) -> Floats:
    """(2, K): the run's labelled and excluded counts of the rows of one split value (the
    rows with no split: all rows less every named split)."""

    def counts(frame: pl.DataFrame) -> Floats:
        frame = frame.sort("index")
        table: Floats = frame.select("labelled_count", "excluded_count").to_numpy().T
        return table.astype(np.float64)

    if split is not None:
        return counts(previous.filter(pl.col("split") == split))
    overall = counts(previous.filter(pl.col("split").is_null()))
    if not has_split:
        return overall
    named = previous.filter(pl.col("split").is_not_null())
    per_split = named.group_by("index").agg(pl.col("labelled_count", "excluded_count").sum())
    return overall - counts(per_split) if per_split.height else overall


def refined_summary(
    classes: Sequence[str],
    targets: pl.DataFrame,
    stats: pl.DataFrame,
    counts: dict[str, Any],
    *,
    inputs: list[dict[str, Any]],
    options: dict[str, Any],
) -> dict[str, Any]:
    """Row counts, the rows' evidence, set sizes and entropy, and the dataset summary."""
    k = len(classes)
    stored = targets["soft_target"].to_numpy().reshape(targets.height, k).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = np.maximum(-np.nansum(stored * np.log2(stored), axis=1), 0.0)
    evidence = targets["evidence"].replace_strict(_EVIDENCE_CODE, return_dtype=pl.Int64)
    set_size = targets["mask"].arr.sum().cast(pl.Int64).to_numpy()
    files = pl.zeros(targets.height, dtype=pl.Int64, eager=True)
    rows = row_counts(files, evidence.to_numpy(), set_size, entropy)
    rejected = counts["no_overlap"]
    count_by = _count_by(options)
    return {
        "version": __version__,
        "classes": list(classes),
        "count_by": count_by,
        "rows_in": targets.height + rejected,
        "rows_accepted": targets.height,
        "rows_rejected": rejected,
        "rejects_by_reason": {"no_overlap": rejected} if rejected else {},
        **row_summary(rows),
        "dataset": dataset_summary(stats, count_by=count_by),
        "inputs": inputs,
        "refine": counts,
    }


def refine_counts(
    by_status: dict[str, int], changed: int, preds: Predictions, rejects: pl.DataFrame
) -> dict[str, Any]:
    """The ``refine`` entry of the manifest: rows by outcome and the predictions' fate."""
    from_preds = rejects.filter(pl.col("source") == preds.path)
    by_reason = from_preds.group_by("reason").agg(pl.len()).sort("reason")
    reasons = dict(zip(by_reason["reason"], map(int, by_reason["len"]), strict=True))
    return {
        **by_status,
        "argmax_changed": changed,
        "predictions": {
            "rows": preds.rows_in,
            "used": preds.rows_in - from_preds.height,
            "rejected": from_preds.height,
            "rejected_by_reason": reasons,
            "columns": preds.columns,
        },
    }


def write_refine_manifest(folder: Path, run_dir: Path, summary: dict[str, Any]) -> None:
    """``manifest.json`` of a refine step: the run's targets file (or each of its part
    files) and the predictions as inputs (sha256), the options, the row counts and the
    ``refine`` counts, the outputs."""
    entries = summary["inputs"]
    roles = ["run"] * (len(entries) - 1) + ["predictions"]
    inputs = [
        {**entry, "role": role, "sha256": sha256_file(entry["path"])}
        for entry, role in zip(entries, roles, strict=True)
    ]
    manifest = {
        "labelprep_version": __version__,
        "command": "refine",
        "inputs": inputs,
        "run": {"path": str(run_dir), "manifest_sha256": sha256_file(run_dir / MANIFEST)},
        "classes": summary["classes"],
        "options": summary["options"],
        "rows": {
            "in": summary["rows_in"],
            "accepted": summary["rows_accepted"],
            "rejected": summary["rows_rejected"],
            "rejected_by_reason": summary["rejects_by_reason"],
            "by_evidence": summary["rows_by_evidence"],
        },
        "refine": summary["refine"],
        "summary": manifest_summary(summary),
        "notices": [],
        "outputs": output_entries(folder),
    }
    write_json(folder / MANIFEST, manifest)
