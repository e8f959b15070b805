"""One-coin Dawid-Skene: one skill per annotator instead of a whole confusion matrix.

Model (Zhang, Chen, Zhou & Jordan 2016; crowd-kit's ``OneCoinDawidSkene``). Item ``i`` has a
hidden class ``t_i`` drawn from the prior ``pi``; annotator ``a`` answers ``t_i`` with
probability ``s_a`` and each other class with probability ``(1 - s_a) / (K - 1)``. EM:

- **M-step**: ``pi_k`` is the mean posterior over voted items; ``s_a`` is the mean, over the
  votes of ``a``, of the posterior probability of the class the vote names; skills are
  clipped to ``[1e-10, 1 - 1e-10]`` (and so are the off-diagonal probabilities) so that
  every logarithm is finite;
- **E-step**: ``log T[i, k] = log pi_k + sum over votes (a, l) on i of
  (log s_a if l == k else log((1 - s_a) / (K - 1)))``, normalised with log-sum-exp.

Initialisation from the vote shares, first step an M-step; stopping and gold items as in
:mod:`labelprep.aggregation._em`. Each step costs O(votes + items * K): the E-step adds one
per-vote term to all K classes and a correction at the voted class.
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
    one_coin_confusion,
    prior_accuracy,
    right_wrong_scores,
)
from labelprep.aggregation._encoded import (
    AggregationResult,
    EncodedVotes,
    FloatArray,
    vote_counts,
    vote_shares,
)

_EPS = 1e-10


def _m_step(
    votes: EncodedVotes, posterior: FloatArray, voted: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Class prior ``(K,)`` and clipped skills ``(A,)`` from posteriors."""
    total = (posterior * voted[:, None]).sum(axis=0)
    prior = np.clip(total / max(float(voted.sum()), 1.0), _EPS, None)
    prior /= prior.sum()
    right = posterior[votes.item, votes.label]
    made = np.bincount(votes.annotator, minlength=votes.n_annotators)
    mass = np.bincount(votes.annotator, weights=right, minlength=votes.n_annotators)
    skills = np.divide(mass, made, out=np.full(votes.n_annotators, 0.5), where=made > 0)
    return prior, np.clip(skills, _EPS, 1.0 - _EPS)


def _log_scores(votes: EncodedVotes, prior: FloatArray, skills: FloatArray) -> FloatArray:
    """Unnormalised log posteriors ``(n_items, K)``."""
    log_right = np.log(skills)
    log_wrong = np.log(np.clip((1.0 - skills) / max(votes.n_classes - 1, 1), _EPS, 1.0 - _EPS))
    a = votes.annotator
    return right_wrong_scores(votes, log_right[a], log_wrong[a]) + np.log(prior)


@dataclass(frozen=True)
class OneCoinDawidSkene(Iterative):
    """One-coin Dawid-Skene EM (see the module docstring for the exact model).

    Prefer it to :class:`DawidSkene` when annotators have few votes each: it fits one
    number per annotator rather than ``K * (K - 1)``.

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
    >>> result = OneCoinDawidSkene().fit_predict_proba(v)
    >>> result.hard_labels().tolist()
    [0, 1]
    """

    name: ClassVar[str] = "one-coin-dawid-skene"

    def fit_predict_proba(
        self, votes: EncodedVotes, gold: npt.ArrayLike | None = None
    ) -> AggregationResult:
        """Run EM from the vote shares and return posteriors, skills and the prior."""
        codes = gold_codes(gold, votes)
        counts = vote_counts(votes)
        voted = (counts.sum(axis=1) > 0).astype(np.float64)

        def m_step(posterior: FloatArray) -> tuple[FloatArray, FloatArray]:
            return _m_step(votes, posterior, voted)

        trace = Trace(self.tol, self.max_iter)
        (prior, skills), free = alternate(
            clamp(vote_shares(counts), codes),
            m_step,
            lambda params: _log_scores(votes, *params),
            codes,
            trace,
        )
        confusion = one_coin_confusion(skills, votes.n_classes)
        return em_result(
            "one_coin_dawid_skene",
            counts,
            codes,
            trace,
            free,
            class_prior=prior,
            skills=skills,
            confusion=confusion,
            annotator_accuracy=prior_accuracy(prior, confusion),
        )
