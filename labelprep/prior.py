"""The class prior behind prior-weighted partial targets (``partial="prior"``).

A first pass over the accepted rows sums, per fold, the targets of the rows whose class
the data shows (:func:`prior_sums`); :func:`estimate_prior` then picks the estimate:

``labelled``
    At least :data:`LABELLED_PER_CLASS` * K rows carry probabilities or a known class: the
    prior is their summed targets, normalized (no smoothing; a class no labelled row has
    gets 0).
``single_class``
    Otherwise, the rows whose evidence leaves exactly one class (a label, probabilities,
    a one-class candidate set, an excluded set ruling out all but one class) are counted,
    with the Jeffreys pseudo-count of 1/2 per class: ``(n_k + 1/2) / (n + K/2)``. The
    estimate is used only with at least :data:`SINGLE_PER_CLASS` * K such rows and if it
    passes a held-out check: fitted on one half of those rows (odd / even input row
    number), it must predict the labels of the other half better than uniform (the
    two-fold cross-fitted log-likelihood ratio against uniform is > 0).
``uniform``
    The rows cannot support an estimate (too few such rows, or the check failed):
    candidate sets are spread uniformly, as with ``partial="uniform"``.

Why not a fixed point over every candidate set (``pi_k`` proportional to the summed
posteriors ``mask_k pi_k / sum_j mask_j pi_j``): on real candidate-set benchmarks it
concentrates the mass on classes that are often candidates and its argmax matches gold
less often than uniform (fg_net: 0.104 against 0.143 expected for uniform); a model with
class-dependent distractor rates does worse than uniform on lost (0.455 against 0.483).
The rows that leave one class are the rows whose class the data actually shows. See
``benchmarks/eval_partial_prior.py`` and the README for the measurements.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from labelprep.evidence import candidate, excluded, target
from labelprep.inputs.readers import ROW

LABELLED_PER_CLASS = 1
"""``few`` labelled rows: fewer than this many per class (K of them for K classes)."""
SINGLE_PER_CLASS = 4
"""Fewest rows leaving one class, per class, behind a ``single_class`` estimate. Estimates
from random subsets of those rows of a real benchmark (italian, K = 90) beat uniform on
average at every size, but did worse in 6 to 40% of the subsets below 4 rows per class
(7% at 4, none with all 13306 rows)."""
PSEUDO_COUNT = 0.5
"""Jeffreys / Krichevsky-Trofimov pseudo-count added to each class of a ``single_class``
estimate."""
PRIOR_SOURCES = ("labelled", "single_class", "uniform")

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PriorEstimate:
    """The prior a ``partial="prior"`` run uses, where it came from and why."""

    source: str
    """One of :data:`PRIOR_SOURCES`."""
    weights: tuple[float, ...] | None
    """The prior in class order; ``None`` for uniform."""
    rows: int
    """Rows the estimate is from (labelled rows, or rows leaving one class)."""
    labelled_rows: int
    held_out_gain: float | None = None
    """Mean held-out log-likelihood gain over uniform (nats per row), when checked."""

    @property
    def notice(self) -> str:
        """One line for the user saying which prior the run used."""
        head = "partial=prior: "
        if self.source == "labelled":
            return f"{head}class prior from the {self.rows} labelled rows"
        few = f"{self.labelled_rows} labelled rows (fewer than one per class)"
        if self.source == "single_class":
            return (
                f"{head}{few}; class prior estimated from the {self.rows} rows whose evidence "
                f"leaves a single class (held-out log-likelihood gain over uniform "
                f"{self.held_out_gain:.4f} nats per row)"
            )
        why = (
            f"the held-out check failed (gain {self.held_out_gain:.4f} nats per row)"
            if self.held_out_gain is not None
            else f"fewer than {SINGLE_PER_CLASS} such rows per class"
        )
        return (
            f"{head}{few} and {self.rows} rows whose evidence leaves a single class: "
            f"{why}, so partial labels are spread uniformly"
        )

    def summary(self) -> dict[str, Any]:
        """The manifest entry."""
        return {
            "source": self.source,
            "rows": self.rows,
            "labelled_rows": self.labelled_rows,
            "held_out_gain": None if self.held_out_gain is None else round(self.held_out_gain, 6),
            "prior": None if self.weights is None else [round(w, 9) for w in self.weights],
        }


def prior_sums(rows: pl.LazyFrame, k: int) -> pl.LazyFrame:
    """Accepted rows (wide, from :func:`labelprep.targets.build_targets`) -> per (labelled,
    fold) group: the row count ``rows`` and the per-class sums ``s0`` ... ``s{k-1}``.

    Labelled rows (probabilities or a known class) add their target; a row whose candidate
    and excluded sets leave one class adds a one-hot of it. The fold is the parity of the
    row number in its file, so it does not depend on how the rows were batched.
    """
    return prior_units(rows, k).with_columns(units_to_sum(pl.col(f"s{i}")) for i in range(k))


def prior_units(rows: pl.LazyFrame, k: int) -> pl.LazyFrame:
    """:func:`prior_sums` with the sums in 2**-64 units (Int128): integer addition does not
    depend on the order, so the prior is the same on any number of threads (or of tasks
    whose units are added up before :func:`units_to_sum`)."""
    allowed = [(~pl.col("__has_c") | candidate(i)) & ~excluded(i) for i in range(k)]
    labelled = pl.col("__has_p") | pl.col("__has_y")
    single = pl.sum_horizontal([a.cast(pl.Int32) for a in allowed]) == 1
    evidence = [
        pl.when(labelled).then(target(i)).otherwise(a.cast(pl.Float64))
        for i, a in enumerate(allowed)
    ]
    values = [(v * 2.0**64).cast(pl.Int128).sum().alias(f"s{i}") for i, v in enumerate(evidence)]
    return (
        rows.filter(labelled | single)
        .group_by(labelled.alias("labelled"), (pl.col(ROW) % 2).cast(pl.Int8).alias("fold"))
        .agg(pl.len().alias("rows"), *values)
    )


def units_to_sum(units: pl.Expr) -> pl.Expr:
    """A sum of :func:`prior_units` as a float."""
    return units.cast(pl.Float64) / 2.0**64


def estimate_prior(sums: pl.DataFrame, k: int) -> PriorEstimate:
    """The prior from the groups of :func:`prior_sums` (see the module docstring)."""
    by_fold, counts = _fold_table(sums, k, labelled_only=True)
    n_labelled = int(counts.sum())
    if n_labelled >= LABELLED_PER_CLASS * k and n_labelled > 0:
        total = by_fold.sum(axis=0)
        mass = float(total.sum())
        weights = total / mass if mass > 0 else total
        return PriorEstimate("labelled", _as_tuple(weights), n_labelled, n_labelled)
    by_fold, counts = _fold_table(sums, k, labelled_only=False)
    n = int(counts.sum())
    if n < SINGLE_PER_CLASS * k or not counts.all():
        return PriorEstimate("uniform", None, n, n_labelled)
    gain = held_out_gain(by_fold)
    if gain <= 0:
        return PriorEstimate("uniform", None, n, n_labelled, gain)
    weights = smoothed(by_fold.sum(axis=0))
    return PriorEstimate("single_class", _as_tuple(weights), n, n_labelled, gain)


def _fold_table(sums: pl.DataFrame, k: int, *, labelled_only: bool) -> tuple[Floats, Floats]:
    """(per-fold class sums, shape (2, K); per-fold row counts, shape (2,))."""
    chosen = sums.filter(pl.col("labelled")) if labelled_only else sums
    by_fold = chosen.group_by("fold").agg(pl.col("rows", *[f"s{i}" for i in range(k)]).sum())
    table = np.zeros((2, k))
    counts = np.zeros(2)
    folds = by_fold["fold"].to_numpy().astype(np.int64)
    if by_fold.height:
        table[folds] = by_fold.select([f"s{i}" for i in range(k)]).to_numpy()
        counts[folds] = by_fold["rows"].to_numpy()
    return table, counts


def smoothed(counts: Floats) -> Floats:
    """``(n_k + 1/2) / (n + K/2)``."""
    pseudo = counts + PSEUDO_COUNT
    result: Floats = pseudo / pseudo.sum()
    return result


def held_out_gain(by_fold: Floats) -> float:
    """Two-fold cross-fitted log-likelihood of the rows' classes under the smoothed
    estimate of the other fold, minus that under uniform, per row (nats)."""
    k = by_fold.shape[1]
    rows = float(by_fold.sum())
    gain = 0.0
    for fold in (0, 1):
        fitted = smoothed(by_fold[fold])
        gain += float(by_fold[1 - fold] @ (np.log(fitted) + math.log(k)))
    return gain / rows


def _as_tuple(values: Floats) -> tuple[float, ...]:
    return tuple(float(v) for v in values)
