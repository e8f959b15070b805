"""The Dawid & Skene (1979) EM model: one confusion matrix per annotator and a class prior.

Model. Item ``i`` has a hidden true class ``t_i`` drawn from the prior ``pi``; annotator
``a`` answers ``l`` with probability ``confusion[a, t_i, l]``, independently of the other
votes. EM alternates

- **M-step**: from posteriors ``T[i, k]``, ``pi_k`` is the mean posterior over items with
  at least one vote, and ``confusion[a, k, l]`` is the posterior mass of class ``k`` over
  the votes of ``a`` that answered ``l``, normalised over ``l``;
- **E-step**: ``log T[i, k] = log pi_k + sum over votes (a, l) on i of
  log confusion[a, k, l]``, normalised with log-sum-exp so that items with many votes do
  not underflow.

Initialisation: posteriors are the vote shares (an unvoted item gets the uniform row), and
the first step is an M-step. Smoothing: ``_EPS = 1e-10`` is added to every confusion count
and prior entry before normalising, so that no probability is exactly 0 and the logarithm
stays finite; a confusion row with no mass at all (an annotator never seen on items of that
class) thus becomes uniform. Stopping: the relative change of the log-likelihood of the
votes between two E-steps is below ``tol``, or ``max_iter`` E-steps have run (see
:mod:`labelprep.aggregation._em`, which also describes gold items). An item without votes
gets the class prior as its posterior.

Every step is vectorised over votes with ``numpy.bincount`` on flat indices; the only
Python loops are over iterations and over the K classes. The computation is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from labelprep.aggregation._em import (
    Iterative,
    Trace,
    alternate,
    clamp,
    em_result,
    gold_codes,
    prior_accuracy,
)
from labelprep.aggregation._encoded import (
    AggregationResult,
    EncodedVotes,
    FloatArray,
    IntArray,
    vote_counts,
    vote_shares,
)

_EPS = 1e-10


@dataclass(frozen=True)
class _Work:
    """What every EM iteration reads: per vote, its item and its flat answer index
    ``annotator * K + label``, as private writable arrays (numpy copies a read-only index
    array on every gather and ``bincount``, and the codes of :class:`EncodedVotes` are
    frozen), and a scratch buffer of one float per vote (reused, so that no iteration
    allocates per-vote arrays). The gathers use ``mode="clip"``: the codes are checked on
    construction, and numpy buffers a gather into ``out`` in its default mode."""

    item: IntArray
    answer: IntArray
    scratch: FloatArray
    n_items: int
    n_annotators: int
    n_classes: int

    @classmethod
    def of(cls, votes: EncodedVotes) -> _Work:
        return cls(
            item=np.array(votes.item),
            answer=votes.annotator * votes.n_classes + votes.label,
            scratch=np.empty(votes.n_votes),
            n_items=votes.n_items,
            n_annotators=votes.n_annotators,
            n_classes=votes.n_classes,
        )


def _m_step(work: _Work, posterior: FloatArray, voted: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Class prior ``(K,)`` and row-normalised confusions ``(A, K, K)`` from posteriors
    ``(K, n_items)``."""
    k, n_ann = work.n_classes, work.n_annotators
    prior = posterior @ voted + _EPS
    prior /= prior.sum()
    confusion = np.empty((n_ann, k, k))
    for true_class in range(k):
        weights = np.take(posterior[true_class], work.item, out=work.scratch, mode="clip")
        mass = np.bincount(work.answer, weights=weights, minlength=n_ann * k)
        confusion[:, true_class, :] = mass.reshape(n_ann, k)
    confusion += _EPS
    confusion /= confusion.sum(axis=2, keepdims=True)
    return prior, confusion


def _log_scores(work: _Work, prior: FloatArray, confusion: FloatArray) -> FloatArray:
    """Unnormalised log posteriors of the true class, ``(K, n_items)``."""
    k = work.n_classes
    # log_conf[t, a * K + l] = log confusion[a, t, l]
    log_conf = np.log(confusion).transpose(1, 0, 2).reshape(k, -1)
    log_post = np.empty((k, work.n_items))
    for true_class in range(k):
        weights = np.take(log_conf[true_class], work.answer, out=work.scratch, mode="clip")
        log_post[true_class] = np.bincount(work.item, weights=weights, minlength=work.n_items)
    log_post += np.log(prior)[:, None]
    return log_post


@dataclass(frozen=True)
class DawidSkene(Iterative):
    """Dawid-Skene EM aggregation (see the module docstring for the exact model).

    Parameters
    ----------
    max_iter
        Maximum number of E-steps, ``>= 1``.
    tol
        Stop when the relative change of the log-likelihood is below this, ``> 0``.

    Examples
    --------
    >>> from labelprep.aggregation import EncodedVotes
    >>> v = EncodedVotes(item=[0, 0, 0, 1, 1, 1], annotator=[0, 1, 2, 0, 1, 2],
    ...                  label=[0, 0, 1, 1, 1, 0], n_items=2, n_annotators=3, n_classes=2)
    >>> result = DawidSkene().fit_predict_proba(v)
    >>> result.hard_labels().tolist(), result.converged
    ([0, 1], True)
    """

    name: ClassVar[str] = "dawid-skene"

    def fit_predict_proba(
        self, votes: EncodedVotes, gold: npt.ArrayLike | None = None
    ) -> AggregationResult:
        """Run EM from the vote shares and return posteriors and fitted parameters."""
        codes = gold_codes(gold, votes)
        counts = vote_counts(votes)
        voted = (counts.sum(axis=1) > 0).astype(np.float64)
        work = _Work.of(votes)

        def m_step(posterior: FloatArray) -> tuple[FloatArray, FloatArray]:
            return _m_step(work, posterior, voted)

        trace = Trace(self.tol, self.max_iter)
        (prior, confusion), free = alternate(
            np.ascontiguousarray(clamp(vote_shares(counts), codes).T),
            m_step,
            lambda params: _log_scores(work, *params),
            codes,
            trace,
            by_class=True,
        )
        accuracy = prior_accuracy(prior, confusion)
        return em_result(
            "dawid_skene",
            counts,
            codes,
            trace,
            np.ascontiguousarray(free.T),
            class_prior=prior,
            skills=accuracy,
            confusion=confusion,
            annotator_accuracy=accuracy,
        )
