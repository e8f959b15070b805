"""Synthetic report inputs at any number of classes, with splits: a long-tailed class
distribution (Zipf-like, down to classes with 1 or 2 items and one class with none), three
splits with a class absent from one of them, notices, fallbacks, example rejects, votes and
annotators. Used by the report tests and by benchmarks/screenshot_report.py."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from labelprep.weights import add_weights, dataset_summary

SPLITS = ("train", "validation", "test")
XSS = "<script>alert(1)</script>"


def class_names(k: int) -> list[str]:
    """Short, long (truncated in charts) and hostile names."""
    names = [f"class_{i:04d}" for i in range(k)]
    if k >= 3:
        names[1] = "a rather long class name that the charts must truncate"
        names[2] = "x<b>&amp;|y"
    return names


def split_counts(k: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Soft masses per split: Zipf-like over the classes; the last class has no mass at
    all (K >= 10), the second-to-last none in "test"."""
    rng = np.random.default_rng(seed)
    base = 2000.0 / np.arange(1, k + 1) ** 1.3 + 0.5
    base = rng.permutation(base) if k > 3 else base
    if k >= 10:  # a few classes with a handful of items or less: extreme balanced weights
        base[k - 6 : k - 2] = [0.08, 0.3, 1.0, 3.0]
    out = {}
    for share, split in zip((0.7, 0.15, 0.15), SPLITS, strict=True):
        jitter = rng.uniform(0.8, 1.25, size=k)
        out[split] = np.round(base * share * jitter, 2)
    if k >= 10:
        for split in SPLITS:
            out[split][-1] = 0.0
        out["test"][-2] = 0.0
    return out


def synthetic_stats(k: int, *, accepted: bool = True, seed: int = 0) -> pl.DataFrame:
    """Weighted class stats (all rows and three splits), as ``class_statistics`` gives."""
    names = class_names(k)
    per_split = split_counts(k, seed)
    if not accepted:
        per_split = {s: np.zeros(k) for s in SPLITS}
    blocks = {None: sum(per_split.values()), **per_split}
    frames = []
    for split, mass in blocks.items():
        assert isinstance(mass, np.ndarray)
        support = np.ceil(mass * 1.3).astype(np.uint64)
        frames.append(
            pl.DataFrame(
                {
                    "split": pl.Series([split] * k, dtype=pl.String),
                    "class": names,
                    "index": pl.Series(range(k), dtype=pl.UInt32),
                    "soft_mass": mass,
                    "support": support,
                    "hard_count": np.floor(mass * 0.8).astype(np.uint64),
                    "labelled_count": np.zeros(k, dtype=np.uint64),
                    "candidate_count": support,
                    "excluded_count": np.zeros(k, dtype=np.uint64),
                }
            )
        )
    return add_weights(pl.concat(frames))


def synthetic_summary(stats: pl.DataFrame, *, annotators: int = 12) -> dict[str, Any]:
    """A run summary with every optional key the report renders."""
    overall = stats.filter(pl.col("split").is_null())
    accepted = round(float(overall["soft_mass"].sum()))
    rejected = {"bad_sum": 7, "unknown_class": 3, "missing_id": 1}
    samples = [
        {"source": "labels.csv", "row": 12 + i, "id": f"r{i}", "reason": "bad_sum",
         "column": "probs", "value": f"[0.{i}, 0.5]", "message": "probabilities sum to 0.6"}
        for i in range(5)
    ] + [
        {"source": f"dir/{XSS}.csv", "row": 40, "id": XSS, "reason": "unknown_class",
         "column": "label", "value": f"{XSS}|pipe\n::error::x", "message": "not in vocabulary"},
    ]  # fmt: skip
    rng = np.random.default_rng(1)
    agreement = np.round(rng.uniform(0.3, 0.98, annotators), 4)
    return {
        "version": "0.1.0",
        "count_by": "soft",
        "rows_in": accepted + sum(rejected.values()),
        "rows_accepted": accepted,
        "rows_rejected": sum(rejected.values()),
        "rejects_by_reason": rejected,
        "reject_samples": samples,
        "notices": [
            "labels.csv: vocabulary inferred from the data (sorted label values)",
            f"labels.csv: columns ignored: comment, {XSS}",
        ],
        "fallbacks": {"partial: uniform over the candidates": 4, "renormalized": 2},
        "config": "labelprep.toml",
        "rows_by_evidence": {"probabilities": accepted},
        "dataset": dataset_summary(stats),
        "inputs": [{"path": "labels.csv", "rows": accepted + 11}],
        "options": {"beta": 0.999, "tau": 1.0},
        "votes": {
            "method": "dawid_skene",
            "votes_in": 900,
            "votes_used": 880,
            "agreement": {"fleiss_kappa": 0.41},
            "sparse_annotators": ["w_0003", "w_0007"],
            "annotators": {
                "annotator": [f"w_{i:04d}" for i in range(annotators)],
                "votes": [int(v) for v in rng.integers(1, 200, annotators)],
                "agreement_with_consensus": agreement.tolist(),
                "estimated_accuracy": np.round(np.clip(agreement + 0.05, 0, 1), 4).tolist(),
            },
        },
    }
