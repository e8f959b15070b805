"""Class priors, class-weight schemes and dataset-level imbalance numbers.

Every scheme is computed per block of the class statistics frame: one block of K rows per
value of ``split`` (the null split, "all rows", is a block of its own). ``n_k`` is the count
chosen by ``count_by``: the soft mass (the expected class count, the default), the support
(items with p > 0) or the hard count (argmax). Within a block, ``N = sum_k n_k`` and ``K+``
is the number of classes with ``n_k > 0``.

``prior``
    ``n_k / N``.
``balanced``
    ``N / (K+ * n_k)``. With hard labels and no empty class this is exactly scikit-learn's
    ``compute_class_weight("balanced")`` (which refuses classes absent from ``y``).
``inverse_sqrt``
    ``c / sqrt(n_k)`` with ``c`` such that the sample-weighted mean weight
    ``sum_k n_k w_k / N`` is 1, i.e. ``c = N / sum_k sqrt(n_k)``.
``effective_number``
    Cui et al., CVPR 2019: ``(1 - beta) / (1 - beta**n_k)`` (``n_k`` may be fractional),
    scaled so that the weights sum to ``K+``.
``median_frequency``
    Eigen & Fergus, ICCV 2015: ``median_j(freq_j) / freq_k`` with ``freq_k = n_k / N``,
    the median taken over the classes with ``n_k > 0``.
``logit_adjustment``
    Menon et al., ICLR 2021: ``tau * log(max(prior_k, eps))``, offsets added to the logits.

Empty classes (``n_k = 0``) get defined, finite values:

- the four loss weights are 0: no target carries mass for the class, so the weight never
  multiplies a loss term, and a 0 cannot be mistaken for a real weight. Every normalization
  (``K+``, the median, the sums) runs over the classes with ``n_k > 0`` only, so adding an
  empty class to the vocabulary does not change the weights of the others, and the weighted
  total mass stays ``N`` for ``balanced`` and ``inverse_sqrt``;
- ``logit_adjustment`` uses ``eps = min(1 / (2 N), p_min / 2)`` where ``p_min`` is the
  smallest non-zero prior: half an observation (the Jeffreys / Krichevsky-Trofimov
  pseudo-count of 1/2), or half the rarest observed prior when soft mass makes that smaller.
  ``eps`` is below every non-zero prior, so only empty classes are affected and they always
  rank below every observed class.

A block with no mass at all (``N = 0``, no accepted rows) gets prior 0, weights 0 and
offsets 0 (a constant offset would not change a softmax anyway): no value is NaN or infinite.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import polars as pl

from labelprep.errors import ColumnNotFoundError, ConfigError

CountBy = Literal["soft", "support", "hard"]

COUNT_COLUMNS: dict[str, str] = {"soft": "soft_mass", "support": "support", "hard": "hard_count"}

WEIGHT_SCHEMES: dict[str, str] = {
    "prior": "n_k / N: the share of class k in the block",
    "balanced": "N / (K * n_k): scikit-learn's 'balanced'; each class gets the same total weight",
    "inverse_sqrt": "proportional to 1 / sqrt(n_k), scaled so that sum_k n_k w_k / N = 1",
    "effective_number": "(1 - beta) / (1 - beta^n_k) (Cui et al. 2019), scaled to sum to K",
    "median_frequency": "median(freq) / freq_k, freq_k = n_k / N (Eigen & Fergus 2015)",
    "logit_adjustment": "tau * log(prior_k): offsets added to the logits (Menon et al. 2021)",
}
"""Scheme name -> one-line definition (K counts the classes with n_k > 0; empty classes get 0)."""

LOSS_WEIGHT_SCHEMES: tuple[str, ...] = (
    "balanced",
    "inverse_sqrt",
    "effective_number",
    "median_frequency",
)
"""The schemes whose values multiply a loss term (``prior`` and offsets excluded)."""

_SPLIT = "split"
_SERIES_LIMIT = 1e-4


def add_weights(
    counts: pl.DataFrame,
    *,
    count_by: CountBy = "soft",
    beta: float = 0.999,
    tau: float = 1.0,
) -> pl.DataFrame:
    """Add the prior, every class-weight scheme and the logit-adjustment offsets.

    Parameters
    ----------
    counts
        Per-class statistics: ``split`` (null = all rows), ``class`` and the count column
        selected by ``count_by``; one block of K rows per split value.
    count_by
        ``"soft"`` (soft mass, the expected count), ``"support"`` or ``"hard"``.
    beta
        Parameter of ``effective_number``, in ``[0, 1)``.
    tau
        Temperature of ``logit_adjustment``.

    Returns
    -------
    pl.DataFrame
        ``counts`` with the Float64 columns named in :data:`WEIGHT_SCHEMES`, row order kept.

    Examples
    --------
    >>> counts = pl.DataFrame({"split": [None, None], "class": ["a", "b"],
    ...                        "soft_mass": [3.0, 1.0]})
    >>> add_weights(counts)["balanced"].to_list()
    [0.6666666666666666, 2.0]
    """
    column = _count_column(counts, count_by)
    if not 0.0 <= beta < 1.0:
        raise ConfigError(f"beta must be in [0, 1), got {beta!r}.")
    if not math.isfinite(tau):
        raise ConfigError(f"tau must be a finite number, got {tau!r}.")
    n = pl.col(column).cast(pl.Float64).fill_null(0.0)
    has_split = _SPLIT in counts.columns
    frame = counts if has_split else counts.with_columns(pl.lit(None, pl.String).alias(_SPLIT))
    weighted = frame.with_columns(
        _prior(n).alias("prior"),
        _balanced(n).alias("balanced"),
        _inverse_sqrt(n).alias("inverse_sqrt"),
        _effective_number(n, beta).alias("effective_number"),
        _median_frequency(n).alias("median_frequency"),
        _logit_adjustment(n, tau).alias("logit_adjustment"),
    )
    return weighted if has_split else weighted.drop(_SPLIT)


def _count_column(counts: pl.DataFrame, count_by: str) -> str:
    if count_by not in COUNT_COLUMNS:
        raise ConfigError(
            f"count_by must be one of {', '.join(map(repr, COUNT_COLUMNS))}, got {count_by!r}."
        )
    column = COUNT_COLUMNS[count_by]
    if column not in counts.columns:
        raise ColumnNotFoundError.from_missing_and_available(
            column, counts.columns, source="class statistics", role=f"count_by={count_by!r}"
        )
    return column


def _total(expr: pl.Expr) -> pl.Expr:
    return expr.sum().over(_SPLIT)


def _on_observed(n: pl.Expr, value: pl.Expr) -> pl.Expr:
    """``value`` where the class has mass, 0.0 elsewhere (discarded branches may be inf)."""
    return pl.when(n > 0).then(value).otherwise(0.0).cast(pl.Float64)


def _observed_classes(n: pl.Expr) -> pl.Expr:
    return _total((n > 0).cast(pl.Float64))


def _prior(n: pl.Expr) -> pl.Expr:
    return _on_observed(n, n / _total(n))


def _balanced(n: pl.Expr) -> pl.Expr:
    # Same operation order as scikit-learn: N / (K * n_k), so hard counts match it exactly.
    return _on_observed(n, _total(n) / (_observed_classes(n) * n))


def _inverse_sqrt(n: pl.Expr) -> pl.Expr:
    return _on_observed(n, _total(n) / (n.sqrt() * _total(n.sqrt())))


def _one_minus_power(beta: float, n: pl.Expr) -> pl.Expr:
    """``1 - beta**n`` without cancellation when ``beta**n`` rounds to 1 (tiny soft mass)."""
    if beta == 0.0:
        return pl.lit(1.0)
    y = n * math.log(beta)  # <= 0; 1 - exp(y) = -(y + y^2/2 + y^3/6 + ...)
    series = -(y + y * y / 2 + y * y * y / 6)
    return pl.when(y > -_SERIES_LIMIT).then(series).otherwise(1.0 - pl.lit(beta).pow(n))


def _effective_number(n: pl.Expr, beta: float) -> pl.Expr:
    raw = _on_observed(n, (1.0 - beta) / _one_minus_power(beta, n))
    return _on_observed(n, raw * _observed_classes(n) / _total(raw))


def _median_frequency(n: pl.Expr) -> pl.Expr:
    # median_j(n_j / N) / (n_k / N) = median_j(n_j) / n_k: N cancels.
    return _on_observed(n, n.filter(n > 0).median().over(_SPLIT) / n)


def _logit_adjustment(n: pl.Expr, tau: float) -> pl.Expr:
    total = _total(n)
    prior = n / total
    smallest = prior.filter(n > 0).min().over(_SPLIT)
    eps = 0.5 * pl.min_horizontal(1.0 / total, smallest)
    offset = tau * pl.max_horizontal(prior, eps).log()
    return pl.when(total > 0).then(offset).otherwise(0.0).cast(pl.Float64)


def imbalance_ratio(counts: pl.Series) -> float | None:
    """Largest over smallest non-zero count; None when no count is positive.

    Examples
    --------
    >>> imbalance_ratio(pl.Series([2.1, 1.15, 0.75, 0.0]))
    2.8000000000000003
    """
    positive = counts.cast(pl.Float64).fill_null(0.0)
    positive = positive.filter(positive > 0)
    if positive.is_empty():
        return None
    return float(positive.max()) / float(positive.min())  # type: ignore[arg-type]


def dataset_summary(stats: pl.DataFrame, *, count_by: CountBy = "soft") -> dict[str, Any]:
    """Dataset-level imbalance numbers of the "all rows" (null split) block.

    Parameters
    ----------
    stats
        Class statistics (weighted or not) with ``class`` and the ``count_by`` column.
    count_by
        Which count is ``n_k``; the same choice as for :func:`add_weights`.

    Returns
    -------
    dict
        Plain Python values: ``k``, ``n`` (sum of n_k), ``imbalance_ratio`` (largest over
        smallest non-zero n_k), ``prior_entropy_bits``, ``effective_classes``
        (``2 ** entropy``, the number of equally frequent classes with the same entropy) and
        ``zero_mass_classes``. Ratio, entropy and effective classes are None when ``n = 0``.

    Examples
    --------
    >>> stats = pl.DataFrame({"split": [None] * 3, "class": ["a", "b", "c"],
    ...                       "soft_mass": [2.0, 2.0, 0.0]})
    >>> summary = dataset_summary(stats)
    >>> summary["imbalance_ratio"], summary["prior_entropy_bits"], summary["zero_mass_classes"]
    (1.0, 1.0, ['c'])
    """
    column = _count_column(stats, count_by)
    block = stats.filter(pl.col(_SPLIT).is_null()) if _SPLIT in stats.columns else stats
    n_k = block[column].cast(pl.Float64).fill_null(0.0)
    observed = n_k.filter(n_k > 0)
    total = float(observed.sum())
    ratio = entropy = effective = None
    if total > 0:
        p = observed / total
        entropy = float(-(p * p.log(2)).sum()) + 0.0  # + 0.0 turns -0.0 into 0.0
        ratio = imbalance_ratio(observed)
        effective = 2.0**entropy
    return {
        "k": block.height,
        "n": total,
        "imbalance_ratio": ratio,
        "prior_entropy_bits": entropy,
        "effective_classes": effective,
        "zero_mass_classes": block.filter(n_k <= 0)["class"].to_list(),
    }
