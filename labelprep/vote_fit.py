"""What a vote aggregation reports besides its targets: fitted parameters, convergence,
gold accuracy, and a warning when annotators are too sparse for the chosen model.

Sparsity rule: a per-annotator confusion model (``dawid-skene``) fits ``K * (K - 1)`` free
probabilities per annotator. When the median annotator has fewer votes than ``K * K``
(:data:`SPARSE_VOTES_PER_PARAMETER` votes per confusion-matrix cell), most matrices are
fitted from a handful of votes and the model often does worse than a majority vote (on the
CrowdFlower set, K = 5 and 3.7 votes per annotator: Dawid-Skene 0.78, majority 0.90); the
run then says so and suggests ``one-coin-dawid-skene`` (one parameter per annotator) or
``majority``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from labelprep.aggregation import (
    EM_METHODS,
    PER_ANNOTATOR_CONFUSION,
    AggregationResult,
    EncodedVotes,
)
from labelprep.gold import Gold

SPARSE_VOTES_PER_PARAMETER = 1.0
"""Warn when the median votes per annotator is below this many times ``K * K``."""


def canonical_method(name: str) -> str:
    """The method name as the CLI spells it (hyphens, lower case)."""
    return name.strip().lower().replace("_", "-")


def method_params(method: str, *, alpha: float, max_iter: int, tol: float) -> dict[str, Any]:
    """The keyword parameters ``method`` accepts among the vote settings."""
    key = canonical_method(method)
    if key == "shares":
        return {"alpha": alpha}
    if key in EM_METHODS or key == "zero-based-skill":
        return {"max_iter": max_iter, "tol": tol}
    return {}


def sparsity_notice(method: str, votes: EncodedVotes) -> str | None:
    """A warning when annotators are too sparse for a per-annotator confusion model."""
    key = canonical_method(method)
    if key not in PER_ANNOTATOR_CONFUSION or votes.n_annotators == 0:
        return None
    made = np.bincount(votes.annotator, minlength=votes.n_annotators)
    median, cells = float(np.median(made[made > 0])), votes.n_classes**2
    if median >= SPARSE_VOTES_PER_PARAMETER * cells:
        return None
    return (
        f"{key}: the median annotator has {median:g} votes, fewer than the {cells} cells of "
        f"a {votes.n_classes}x{votes.n_classes} confusion matrix; its estimates may be worse "
        "than a majority vote. Consider --method one-coin-dawid-skene (one skill per "
        "annotator) or --method majority."
    )


def _round(values: Sequence[float] | np.ndarray) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=np.float64)]


def fit_summary(
    result: AggregationResult, classes: Sequence[str], gold: Gold | None
) -> dict[str, Any]:
    """Convergence, class prior, log-likelihood history and gold figures for the manifest."""
    summary: dict[str, Any] = {
        "iterations": result.n_iter,
        "converged": result.converged,
        "final_change": result.final_change,
        "log_likelihood": _round(result.log_likelihood),
    }
    if result.class_prior is not None:
        summary["class_prior"] = dict(zip(classes, _round(result.class_prior), strict=True))
    if gold is not None:
        summary["gold"] = {
            "file": gold.path,
            "given": gold.given,
            "items": result.gold_items,
            "unmatched": gold.unmatched,
            "accuracy": result.gold_accuracy,
        }
    return summary


def annotator_columns(result: AggregationResult, k: int) -> list[pl.Series]:
    """``estimated_accuracy``, ``skill`` and ``confusion`` (a K x K array per annotator,
    ``confusion[t][l]`` = P(answer l | true class t)) where the method fits them."""
    columns = []
    if result.annotator_accuracy is not None:
        columns.append(pl.Series("estimated_accuracy", result.annotator_accuracy, dtype=pl.Float64))
    if result.skills is not None:
        columns.append(pl.Series("skill", result.skills, dtype=pl.Float64))
    if result.confusion is not None:
        columns.append(pl.Series("confusion", result.confusion, dtype=pl.Array(pl.Float64, (k, k))))
    return columns
