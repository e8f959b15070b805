"""What the methods share: the stopping rule, gold clamping, result assembly and numerical
helpers.

Stopping rule (every EM method): after each E-step the objective (the log-likelihood of
the votes, plus the log-density of the parameter priors where a model has them; for
MACE's variational Bayes the evidence lower bound) is recorded; the run stops when its
relative change ``|L_t - L_{t-1}| / max(|L_{t-1}|, 1e-12)`` is below ``tol`` (default
``1e-6``), and ``converged`` says whether that happened before ``max_iter`` E-steps. The
history, the number of iterations and the final relative change are reported.

Gold items: a gold vector holds, per item, the known class code or ``-1``. During EM a gold
item's posterior is set to the one-hot of its class after every E-step (its votes then
teach the annotator parameters with the known answer), and it is output as that one-hot.
The accuracy reported on gold items is that of the model's own votes-only posterior under
the final parameters, before the gold answer is put in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar

import numpy as np
import numpy.typing as npt

from labelprep.aggregation._encoded import (
    AggregationResult,
    EncodedVotes,
    FloatArray,
    IntArray,
    argmax_lowest,
    count_ties,
)
from labelprep.errors import ConfigError, InputError

DEFAULT_TOL = 1e-6
"""Default relative change of the log-likelihood below which EM stops."""


@dataclass
class Trace:
    """Log-likelihood history of one EM run and the stopping decision."""

    tol: float
    max_iter: int
    history: list[float] = field(default_factory=list)
    converged: bool = False

    def record(self, value: float) -> bool:
        """Add one E-step's objective; True when the run should stop."""
        self.history.append(float(value))
        change = self.final_change
        self.converged = change is not None and change < self.tol
        return self.converged or len(self.history) >= self.max_iter

    @property
    def n_iter(self) -> int:
        """E-steps run."""
        return len(self.history)

    @property
    def final_change(self) -> float | None:
        """Relative change of the objective over the last iteration (None before two)."""
        if len(self.history) < 2:
            return None
        previous, last = self.history[-2], self.history[-1]
        return abs(last - previous) / max(abs(previous), 1e-12)


def check_em_params(name: str, max_iter: int, tol: float) -> None:
    """``max_iter`` an integer >= 1 and ``tol`` a finite number > 0, else ``ConfigError``."""
    if isinstance(max_iter, bool) or int(max_iter) != max_iter:
        raise ConfigError(f"{name}: max_iter must be an integer, got {max_iter!r}.")
    if max_iter < 1:
        raise ConfigError(f"{name}: max_iter must be >= 1, got {max_iter}.")
    if not np.isfinite(tol) or tol <= 0:
        raise ConfigError(f"{name}: tol must be a finite number > 0, got {tol!r}.")


@dataclass(frozen=True)
class Iterative:
    """Base of the iterative methods: the ``max_iter`` and ``tol`` parameters, checked on
    construction; ``name`` (the method's CLI name) prefixes the error messages."""

    name: ClassVar[str]

    max_iter: int = 100
    tol: float = DEFAULT_TOL

    def __post_init__(self) -> None:
        check_em_params(self.name, self.max_iter, self.tol)


def gold_codes(gold: npt.ArrayLike | None, votes: EncodedVotes) -> IntArray | None:
    """Validate a gold vector: shape ``(n_items,)``, codes in ``-1..K-1``; None if no gold."""
    if gold is None:
        return None
    arr = np.asarray(gold, dtype=np.int64)
    if arr.shape != (votes.n_items,):
        raise InputError(f"gold: expected {votes.n_items} codes (one per item), got {arr.shape}.")
    if arr.size and (arr.min() < -1 or arr.max() >= votes.n_classes):
        raise InputError(f"gold: class codes must be -1 (unknown) or 0..{votes.n_classes - 1}.")
    return arr if (arr >= 0).any() else None


def clamp(proba: FloatArray, gold: IntArray | None) -> FloatArray:
    """``proba`` with every gold item's row replaced by the one-hot of its gold class."""
    if gold is None:
        return proba
    known = gold >= 0
    out = proba.copy()
    out[known] = 0.0
    out[np.flatnonzero(known), gold[known]] = 1.0
    return out


def gold_accuracy(proba: FloatArray, gold: IntArray | None) -> float | None:
    """Share of gold items whose argmax (lowest index on ties) is their gold class."""
    if gold is None:
        return None
    known = gold >= 0
    return float((np.argmax(proba[known], axis=1) == gold[known]).mean())


def normalise_log(log_post: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Row-wise softmax of log scores and the log of each row's normaliser (log-sum-exp)."""
    top = log_post.max(axis=1, keepdims=True)
    scaled = np.exp(log_post - top)
    total = scaled.sum(axis=1, keepdims=True)
    return scaled / total, (np.log(total) + top)[:, 0]


def digamma(x: FloatArray) -> FloatArray:
    """The digamma function for positive ``x`` (recurrence to x >= 10, then the asymptotic
    series; absolute error below 1e-12)."""
    x = np.asarray(x, dtype=np.float64).copy()
    shift = np.zeros_like(x)
    for _ in range(10):
        small = x < 10.0
        shift -= np.where(small, 1.0 / x, 0.0)
        x = np.where(small, x + 1.0, x)
    inv2 = 1.0 / (x * x)
    series = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 / 132))))
    result: FloatArray = shift + np.log(x) - 0.5 / x - series
    return result


def log_gamma(x: FloatArray) -> FloatArray:
    """``log Gamma(x)`` for positive ``x`` (recurrence to x >= 10, then Stirling's series;
    error below 1e-12 times ``max(1, |log Gamma(x)|)``)."""
    x = np.asarray(x, dtype=np.float64).copy()
    shift = np.zeros_like(x)
    for _ in range(10):
        small = x < 10.0
        shift -= np.where(small, np.log(x), 0.0)
        x = np.where(small, x + 1.0, x)
    inv, inv2 = 1.0 / x, 1.0 / (x * x)
    series = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 / 1680)))
    result: FloatArray = shift + (x - 0.5) * np.log(x) - x + 0.5 * np.log(2 * np.pi) + series
    return result


def dirichlet_kl(posterior: FloatArray, prior: FloatArray) -> float:
    """Sum over rows of ``KL(Dirichlet(posterior[r]) || Dirichlet(prior[r]))`` (both
    ``(R, C)`` arrays of positive concentrations)."""
    total, base = posterior.sum(axis=1), prior.sum(axis=1)
    expected_log = digamma(posterior) - digamma(total)[:, None]
    kl = (
        log_gamma(total)
        - log_gamma(posterior).sum(axis=1)
        - log_gamma(base)
        + log_gamma(prior).sum(axis=1)
        + ((posterior - prior) * expected_log).sum(axis=1)
    )
    return float(kl.sum())


def weighted_vote(votes: EncodedVotes, weights: FloatArray) -> FloatArray:
    """Per-item weighted vote shares: ``sum of weight[a] over votes for k / sum of weights``;
    an item whose votes all weigh 0 (or that has none) gets its plain vote shares (uniform)."""
    k = votes.n_classes
    w = weights[votes.annotator]
    flat = votes.item * k + votes.label
    scores = np.bincount(flat, weights=w, minlength=votes.n_items * k).reshape(-1, k)
    plain = np.bincount(flat, minlength=votes.n_items * k).reshape(-1, k).astype(np.float64)
    totals = scores.sum(axis=1, keepdims=True)
    plain_totals = plain.sum(axis=1, keepdims=True)
    fallback = np.divide(
        plain, plain_totals, out=np.full(plain.shape, 1.0 / k), where=plain_totals > 0
    )
    out: FloatArray = np.divide(scores, totals, out=fallback, where=totals > 0)
    return out


def agreement_rate(votes: EncodedVotes, labels: IntArray) -> FloatArray:
    """Per annotator: the share of their votes equal to the item's label (0 for no votes)."""
    hits = (votes.label == labels[votes.item]).astype(np.float64)
    made = np.bincount(votes.annotator, minlength=votes.n_annotators)
    right = np.bincount(votes.annotator, weights=hits, minlength=votes.n_annotators)
    return np.divide(right, made, out=np.zeros(votes.n_annotators), where=made > 0)


def gold_count(gold: IntArray | None) -> int:
    """Number of gold items."""
    return 0 if gold is None else int((gold >= 0).sum())


def agreement_with_argmax(
    votes: EncodedVotes, scores: FloatArray | IntArray, gold: IntArray | None
) -> FloatArray:
    """Per annotator: the share of their votes equal to the item's label, the label being
    the row-wise argmax of ``scores`` (lowest index on ties) or, on gold items, the gold class."""
    labels = argmax_lowest(scores)
    if gold is not None:
        labels[gold >= 0] = gold[gold >= 0]
    return agreement_rate(votes, labels)


def make_result(
    method: str,
    counts: IntArray,
    gold: IntArray | None,
    proba: FloatArray,
    *,
    skills: FloatArray | None = None,
    n_iter: int = 0,
    converged: bool = True,
    class_prior: FloatArray | None = None,
    confusion: FloatArray | None = None,
    annotator_accuracy: FloatArray | None = None,
    log_likelihood: tuple[float, ...] = (),
    final_change: float | None = None,
) -> AggregationResult:
    """Any method's result from its votes-only ``proba`` and raw vote ``counts``: gold items
    are output as the one-hot of their class and the gold accuracy is that of ``proba``;
    the keywords are the method's fitted fields (see :class:`AggregationResult`)."""
    return AggregationResult(
        proba=clamp(proba, gold),
        method=method,
        n_votes=counts.sum(axis=1),
        ties=count_ties(counts),
        annotator_accuracy=annotator_accuracy,
        confusion=confusion,
        class_prior=class_prior,
        n_iter=n_iter,
        converged=converged,
        skills=skills,
        log_likelihood=log_likelihood,
        final_change=final_change,
        gold_items=gold_count(gold),
        gold_accuracy=gold_accuracy(proba, gold),
    )


def em_result(
    method: str,
    counts: IntArray,
    gold: IntArray | None,
    trace: Trace,
    free: FloatArray,
    *,
    class_prior: FloatArray,
    skills: FloatArray,
    confusion: FloatArray | None = None,
    annotator_accuracy: FloatArray | None = None,
) -> AggregationResult:
    """An EM method's result from the votes-only posterior ``free`` of its last E-step, its
    stopping record and its fitted parameters."""
    return make_result(
        method,
        counts,
        gold,
        free,
        skills=skills,
        n_iter=trace.n_iter,
        converged=trace.converged,
        class_prior=class_prior,
        confusion=confusion,
        annotator_accuracy=annotator_accuracy,
        log_likelihood=tuple(trace.history),
        final_change=trace.final_change,
    )


P = TypeVar("P")


def alternate(
    posterior: FloatArray,
    m_step: Callable[[FloatArray], P],
    log_scores: Callable[[P], FloatArray],
    gold: IntArray | None,
    trace: Trace,
    *,
    by_class: bool = False,
) -> tuple[P, FloatArray]:
    """EM from a starting posterior: M-step, then E-step, record and M-step until ``trace``
    stops, so the parameters are fitted to the last posterior. Returns them with the
    votes-only posterior of the last E-step. With ``by_class`` the posteriors and scores
    are ``(K, n_items)`` arrays (see :func:`e_step_by_class`)."""
    step = e_step_by_class if by_class else e_step
    params = m_step(posterior)
    stop = False
    while not stop:
        free, posterior, log_lik = step(log_scores(params), gold)
        stop = trace.record(log_lik)
        params = m_step(posterior)
    return params, free


def e_step(log_scores: FloatArray, gold: IntArray | None) -> tuple[FloatArray, FloatArray, float]:
    """From unnormalised log posteriors ``(n_items, K)``: the votes-only posterior, the
    posterior with gold items fixed, and the log-likelihood (a gold item contributes the
    joint log-probability of its votes and its gold class)."""
    free, log_norm = normalise_log(log_scores)
    if gold is None:
        return free, free, float(log_norm.sum())
    known = np.flatnonzero(gold >= 0)
    log_norm[known] = log_scores[known, gold[known]]
    return free, clamp(free, gold), float(log_norm.sum())


def e_step_by_class(
    log_scores: FloatArray, gold: IntArray | None
) -> tuple[FloatArray, FloatArray, float]:
    """:func:`e_step` on ``(K, n_items)`` arrays (one contiguous row per class: the
    reductions over classes are then element-wise over rows, several times faster). The
    softmax is computed in place: ``log_scores`` is overwritten with the posterior."""
    if gold is None:
        free, log_norm = _softmax_in_place(log_scores)
        return free, free, float(log_norm.sum())
    known = np.flatnonzero(gold >= 0)
    gold_scores = log_scores[gold[known], known]  # a copy, taken before the overwrite
    free, log_norm = _softmax_in_place(log_scores)
    log_norm[known] = gold_scores
    clamped = free.copy()
    clamped[:, known] = 0.0
    clamped[gold[known], known] = 1.0
    return free, clamped, float(log_norm.sum())


def _softmax_in_place(log_scores: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Per item (column), the softmax over classes of ``(K, n_items)`` scores, written
    over them, and the log normaliser of each item."""
    top = log_scores.max(axis=0)
    free = np.subtract(log_scores, top, out=log_scores)
    np.exp(free, out=free)
    total = free.sum(axis=0)
    free /= total
    log_norm = np.log(total)
    log_norm += top
    return free, log_norm


def right_wrong_scores(
    votes: EncodedVotes, log_right: FloatArray, log_wrong: FloatArray
) -> FloatArray:
    """``(n_items, K)``: per item and class ``k``, the sum over the item's votes of
    ``log_right`` (votes for ``k``) or ``log_wrong`` (the others), both given per vote."""
    k, n_items = votes.n_classes, votes.n_items
    base = np.bincount(votes.item, weights=log_wrong, minlength=n_items)
    flat = np.bincount(
        votes.item * k + votes.label, weights=log_right - log_wrong, minlength=n_items * k
    )
    return np.asarray(flat.reshape(n_items, k) + base[:, None], dtype=np.float64)


def one_coin_confusion(skills: FloatArray, k: int) -> FloatArray:
    """``(A, K, K)`` matrices with ``skills[a]`` on the diagonal and the rest of each row
    spread evenly over the other classes."""
    off = (1.0 - skills) / max(k - 1, 1)
    eye = np.eye(k, dtype=bool)
    out: FloatArray = np.where(eye, skills[:, None, None], off[:, None, None])
    return out


def prior_accuracy(prior: FloatArray, confusion: FloatArray) -> FloatArray:
    """Prior-weighted diagonal of each confusion matrix: P(answer = truth) per annotator."""
    diagonals = np.diagonal(confusion, axis1=1, axis2=2)  # (A, K)
    return np.asarray(diagonals @ prior, dtype=np.float64)
