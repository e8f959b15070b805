"""GLAD (Whitehill et al. 2009): annotator abilities and item difficulties.

Model, as crowd-kit's ``GLAD``. Item ``i`` has a hidden class ``t_i`` with a fixed uniform
prior; annotator ``a`` answers it correctly with probability ``sigma(alpha_a * exp(beta_i))``
(``alpha_a`` in R is the ability, ``exp(beta_i) > 0`` the inverse difficulty) and otherwise
picks one of the other ``K - 1`` classes uniformly. Both parameters have standard normal
priors centred on 1. EM:

- **E-step**: ``log T[i, k] = log(1/K) + sum over votes (a, l) on i of
  (log sigma(x) if l == k else log(1 - sigma(x)) - log(K - 1))``, ``x = alpha_a exp(beta_i)``;
- **M-step**: the expected complete log-likelihood plus the log priors is increased by
  ``m_step_iter`` rounds of Fisher scoring, alternating between all abilities and all
  difficulties (each a diagonal Newton step using ``sigma (1 - sigma)`` as the curvature;
  steps are clipped to ``[-m_step_clip, m_step_clip]`` and halved, parameter by parameter,
  until they raise the objective, so that EM climbs at every iteration: without that the
  full steps overshoot and, on ZenCrowd, the run cycles between two states forever).

Abilities and inverse difficulties start at 1, so the first posterior is the vote shares'
argmax distribution of equally trusted annotators. The objective whose relative change stops
the run is the log-likelihood of the votes plus the log prior densities of the parameters;
stopping and gold items as in :mod:`labelprep.aggregation._em`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from labelprep.aggregation._em import (
    Iterative,
    Trace,
    e_step,
    em_result,
    gold_codes,
    right_wrong_scores,
)
from labelprep.aggregation._encoded import (
    AggregationResult,
    EncodedVotes,
    FloatArray,
    IntArray,
    vote_counts,
)
from labelprep.errors import ConfigError

_LOG_2PI = float(np.log(2 * np.pi))


def _log_sigmoid(x: FloatArray) -> FloatArray:
    """``log(1 / (1 + exp(-x)))`` without overflow."""
    out: FloatArray = -np.logaddexp(0.0, -x)
    return out


def _log_scores(
    votes: EncodedVotes, alpha: FloatArray, beta: FloatArray
) -> tuple[FloatArray, float]:
    """Unnormalised log posteriors ``(n_items, K)`` and the log prior density."""
    k = votes.n_classes
    x = alpha[votes.annotator] * np.exp(beta[votes.item])
    log_right = _log_sigmoid(x)
    log_wrong = _log_sigmoid(-x) - np.log(max(k - 1, 1))
    scores = right_wrong_scores(votes, log_right, log_wrong) - np.log(k)
    log_prior = -0.5 * (((alpha - 1) ** 2).sum() + ((beta - 1) ** 2).sum())
    log_prior -= 0.5 * _LOG_2PI * (alpha.size + beta.size)
    return scores, float(log_prior)


def _sigmoid(x: FloatArray) -> FloatArray:
    out: FloatArray = 1.0 / (1.0 + np.exp(-x))
    return out


def _gain(right: FloatArray, x: FloatArray, owner: IntArray, value: FloatArray) -> FloatArray:
    """Per parameter (ability or difficulty): its votes' expected complete log-likelihood
    (up to a constant) plus its log prior, at ``x = alpha * exp(beta)`` per vote."""
    terms = right * _log_sigmoid(x) + (1.0 - right) * _log_sigmoid(-x)
    out: FloatArray = np.bincount(owner, terms, value.size) - 0.5 * (value - 1.0) ** 2
    return out


_HALVINGS = 8


def _ascend(
    value: FloatArray,
    step: FloatArray,
    clip: float,
    gain: Callable[[FloatArray], FloatArray],
) -> FloatArray:
    """``value + step`` (clipped), halving the step of each parameter whose ``gain`` would
    fall, up to :data:`_HALVINGS` times; a parameter that still cannot gain keeps its
    value. Parameters are separable within a block, so each one's gain is its own: the
    M-step never lowers the objective and EM cannot cycle."""
    step = np.clip(step, -clip, clip)
    before = gain(value)
    for _ in range(_HALVINGS):
        worse = gain(value + step) < before
        if not worse.any():
            break
        step = np.where(worse, step / 2, step)
    trial = value + step
    out: FloatArray = np.where(gain(trial) >= before, trial, value)
    return out


def _ability_step(
    votes: EncodedVotes, right: FloatArray, alpha: FloatArray, scale: FloatArray, clip: float
) -> FloatArray:
    """One Fisher-scoring step on every ability; ``scale`` is ``exp(beta)`` per vote."""
    a = votes.annotator
    sig = _sigmoid(alpha[a] * scale)
    grad = np.bincount(a, (right - sig) * scale, alpha.size) - (alpha - 1)
    curv = np.bincount(a, sig * (1 - sig) * scale**2, alpha.size) + 1
    return _ascend(alpha, grad / curv, clip, lambda t: _gain(right, t[a] * scale, a, t))


def _difficulty_step(
    votes: EncodedVotes, right: FloatArray, ability: FloatArray, beta: FloatArray, clip: float
) -> FloatArray:
    """One Fisher-scoring step on every difficulty; ``ability`` is ``alpha`` per vote."""
    i = votes.item
    x = ability * np.exp(beta[i])
    sig = _sigmoid(x)
    grad = np.bincount(i, (right - sig) * x, beta.size) - (beta - 1)
    curv = np.bincount(i, sig * (1 - sig) * x**2, beta.size) + 1
    return _ascend(beta, grad / curv, clip, lambda t: _gain(right, ability * np.exp(t[i]), i, t))


@dataclass(frozen=True)
class GLAD(Iterative):
    """GLAD EM aggregation (see the module docstring for the exact model).

    Prefer it when items differ in difficulty (some are hard for everyone).

    Parameters
    ----------
    max_iter
        Maximum number of E-steps, ``>= 1``.
    tol
        Stop when the relative change of the objective is below this, ``> 0``.
    m_step_iter
        Fisher-scoring rounds per M-step, ``>= 1``.
    m_step_clip
        Largest change of one parameter in one round, ``> 0``.

    Examples
    --------
    >>> from labelprep.aggregation import EncodedVotes
    >>> v = EncodedVotes(item=[0, 0, 0, 1, 1, 1], annotator=[0, 1, 2, 0, 1, 2],
    ...                  label=[0, 0, 1, 1, 1, 0], n_items=2, n_annotators=3, n_classes=2)
    >>> GLAD().fit_predict_proba(v).hard_labels().tolist()
    [0, 1]
    """

    name: ClassVar[str] = "glad"

    m_step_iter: int = 5
    m_step_clip: float = 2.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if int(self.m_step_iter) != self.m_step_iter or self.m_step_iter < 1:
            raise ConfigError(f"glad: m_step_iter must be an integer >= 1, got {self.m_step_iter}.")
        if not np.isfinite(self.m_step_clip) or self.m_step_clip <= 0:
            raise ConfigError(f"glad: m_step_clip must be > 0, got {self.m_step_clip!r}.")

    def _m_step(
        self, votes: EncodedVotes, right: FloatArray, alpha: FloatArray, beta: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Fisher scoring on abilities, then difficulties; ``right`` is each vote's posterior
        probability of being correct. Every step raises the expected complete
        log-likelihood (see :func:`_ascend`)."""
        for _ in range(self.m_step_iter):
            alpha = _ability_step(votes, right, alpha, np.exp(beta[votes.item]), self.m_step_clip)
            beta = _difficulty_step(votes, right, alpha[votes.annotator], beta, self.m_step_clip)
        return alpha, beta

    def fit_predict_proba(
        self, votes: EncodedVotes, gold: npt.ArrayLike | None = None
    ) -> AggregationResult:
        """Run EM and return posteriors, abilities (``skills``) and the fixed prior."""
        codes = gold_codes(gold, votes)
        counts = vote_counts(votes)
        alpha, beta = np.ones(votes.n_annotators), np.ones(votes.n_items)
        scores, _ = _log_scores(votes, alpha, beta)
        free, posterior, _ = e_step(scores, codes)
        trace = Trace(self.tol, self.max_iter)
        stop = False
        while not stop:
            right = posterior[votes.item, votes.label]
            alpha, beta = self._m_step(votes, right, alpha, beta)
            scores, log_prior = _log_scores(votes, alpha, beta)
            free, posterior, log_lik = e_step(scores, codes)
            stop = trace.record(log_lik + log_prior)
        uniform = np.full(votes.n_classes, 1.0 / votes.n_classes)
        return em_result("glad", counts, codes, trace, free, class_prior=uniform, skills=alpha)
