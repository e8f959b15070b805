"""MACE (Hovy et al. 2013): annotators who either know the answer or spam.

Model, as crowd-kit's ``MACE``. Item ``i`` has a hidden class ``t_i`` with a uniform prior.
On each vote annotator ``a`` spams with probability ``spam[a, 0]`` and then answers from
their own strategy distribution ``theta[a]``, or knows (``spam[a, 1]``) and answers
``t_i``: ``P(l | t) = spam[a, 0] * theta[a, l] + spam[a, 1] * [l == t]``. EM:

- **E-step**: item posteriors in log space; each vote's expected "knows" indicator is
  ``T[i, l] * spam[a, 1] / P(l | l)``, its "spams" indicator the complement;
- **M-step** (``method="vb"``, the default): variational Bayes with a symmetric
  ``Beta(alpha, beta)`` prior on the spamming coin and a ``Dirichlet(10)`` prior on each
  strategy: the posteriors of both are Dirichlet with concentrations ``count + prior``,
  and the E-step uses ``exp(E[log x]) = exp(digamma(count + prior)) /
  exp(digamma(sum(count + prior)))``; ``method="em"`` normalises the counts plus
  ``0.01 / K`` instead.

Objective. With ``vb`` it is the evidence lower bound that variational Bayes increases at
every step: the E-step's log normaliser (the log-likelihood of the votes under the
``exp(E[log x])`` weights) minus the Kullback-Leibler divergences of the coin and strategy
posteriors from their priors; with ``em`` the log-likelihood of the votes. A run starts
with one E-step from its starting parameters (point values, not yet a posterior, so no
bound), then alternates M-step and E-step; the objective after each of those E-steps is
what the stopping rule watches and what ranks the restarts. Ranking variational runs by
the bound rather than by the plug-in likelihood matters where runs end in different
local optima (CrowdFlower: the bound's best run is also the most accurate of ten, the
plug-in likelihood's best is not).

Initialisation and restarts: the first run starts with every annotator knowing with
probability 0.5 and spamming uniformly (so its first posterior sharpens the vote shares);
``n_restarts - 1`` more runs (9 by default, crowd-kit's 10 runs) start from random
parameters, drawn as in crowd-kit (``Uniform(1, 2 + default_noise)``, normalised) from
``numpy.random.default_rng(seed)`` in order of each annotator's first vote; the run with
the highest final objective is kept (its iterations and convergence are the ones
reported). The variational objective has several local optima on real data (CrowdFlower:
see ``benchmarks/eval_aggregation.py``).
Stopping and gold items as in :mod:`labelprep.aggregation._em`; the skill of an annotator
is their probability of knowing, ``spam[a, 1] / (spam[a, 0] + spam[a, 1])``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt

from labelprep.aggregation._em import (
    Iterative,
    Trace,
    digamma,
    dirichlet_kl,
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

_TINY = 1e-300

Params = tuple[FloatArray, FloatArray]  # spam (A, 2), theta (A, K)


def _log_scores(votes: EncodedVotes, spam: FloatArray, theta: FloatArray) -> FloatArray:
    a = votes.annotator
    spams = spam[a, 0] * theta[a, votes.label]
    log_other = np.log(np.maximum(spams, _TINY))
    log_same = np.log(np.maximum(spams + spam[a, 1], _TINY))
    scores: FloatArray = right_wrong_scores(votes, log_same, log_other) - np.log(votes.n_classes)
    return scores


def _expected_counts(
    votes: EncodedVotes, posterior: FloatArray, spam: FloatArray, theta: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """(spam/know counts ``(A, 2)``, strategy counts ``(A, K)``) from posteriors."""
    a, n_ann, k = votes.annotator, votes.n_annotators, votes.n_classes
    spams = spam[a, 0] * theta[a, votes.label]
    knows = posterior[votes.item, votes.label] * spam[a, 1] / np.maximum(spams + spam[a, 1], _TINY)
    spammed = np.bincount(a, weights=1.0 - knows, minlength=n_ann).astype(np.float64)
    knew = np.bincount(a, weights=knows, minlength=n_ann).astype(np.float64)
    strategy = np.bincount(a * k + votes.label, weights=1.0 - knows, minlength=n_ann * k)
    return np.stack([spammed, knew], axis=1), strategy.astype(np.float64).reshape(n_ann, k)


def _variational(counts: FloatArray, prior: FloatArray | float) -> FloatArray:
    shifted = counts + prior
    out: FloatArray = np.exp(digamma(shifted) - digamma(shifted.sum(axis=1, keepdims=True)))
    return out


@dataclass(frozen=True)
class MACE(Iterative):
    """MACE aggregation (see the module docstring for the exact model).

    Prefer it when some annotators answer carelessly (spammers) rather than with
    systematic confusions.

    Parameters
    ----------
    max_iter
        Maximum number of M-step and E-step pairs per restart, ``>= 1`` (crowd-kit runs a
        fixed 50; with the stopping rule some real sets need more: RTE 72, SP 56).
    tol
        Stop when the relative change of the log-likelihood is below this, ``> 0``.
    method
        ``"vb"`` (variational Bayes, the default) or ``"em"``.
    alpha, beta
        Beta prior on the spamming coin (``vb``).
    n_restarts
        Runs: the deterministic start and ``n_restarts - 1`` random ones; the best is kept
        (10, as crowd-kit).
    default_noise, seed
        Spread and seed of the random starts.

    Examples
    --------
    >>> from labelprep.aggregation import EncodedVotes
    >>> v = EncodedVotes(item=[0, 0, 0, 1, 1, 1], annotator=[0, 1, 2, 0, 1, 2],
    ...                  label=[0, 0, 1, 1, 1, 0], n_items=2, n_annotators=3, n_classes=2)
    >>> MACE().fit_predict_proba(v).hard_labels().tolist()
    [0, 1]
    """

    name: ClassVar[str] = "mace"

    max_iter: int = 100
    method: Literal["vb", "em"] = "vb"
    alpha: float = 0.5
    beta: float = 0.5
    n_restarts: int = 10
    default_noise: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.method not in ("vb", "em"):
            raise ConfigError(f"mace: method must be 'vb' or 'em', got {self.method!r}.")
        for name in ("alpha", "beta", "default_noise"):
            value = getattr(self, name)
            if not np.isfinite(value) or value <= 0:
                raise ConfigError(f"mace: {name} must be a finite number > 0, got {value!r}.")
        if int(self.n_restarts) != self.n_restarts or self.n_restarts < 1:
            raise ConfigError(f"mace: n_restarts must be an integer >= 1, got {self.n_restarts}.")

    def _m_step(self, coin: FloatArray, strategy: FloatArray) -> tuple[Params, float]:
        """The next parameters from expected counts, and the amount the objective subtracts
        for them (the divergences of the variational posteriors from the priors; 0 for
        ``em``)."""
        if self.method == "vb":
            coin_prior = np.broadcast_to(np.array([self.alpha, self.beta]), coin.shape)
            strategy_prior = np.full(strategy.shape, 10.0)
            penalty = dirichlet_kl(coin + coin_prior, coin_prior) + dirichlet_kl(
                strategy + strategy_prior, strategy_prior
            )
            return (_variational(coin, coin_prior), _variational(strategy, strategy_prior)), penalty
        smooth = 0.01 / strategy.shape[1]
        return (
            (coin + smooth) / (coin + smooth).sum(axis=1, keepdims=True),
            (strategy + smooth) / (strategy + smooth).sum(axis=1, keepdims=True),
        ), 0.0

    def _starts(self, votes: EncodedVotes) -> list[Params]:
        """The symmetric start, then the random ones. Random parameters are drawn in order
        of each annotator's first vote (so renumbering the annotators changes nothing);
        annotators without a vote keep the symmetric start."""
        n_ann, k = votes.n_annotators, votes.n_classes
        symmetric = (np.full((n_ann, 2), 0.5), np.full((n_ann, k), 1.0 / k))
        first = np.full(n_ann, votes.n_votes, dtype=np.int64)
        np.minimum.at(first, votes.annotator, np.arange(votes.n_votes, dtype=np.int64))
        voted = np.argsort(first, kind="stable")[: int((first < votes.n_votes).sum())]
        starts, rng = [symmetric], np.random.default_rng(self.seed)
        for _ in range(self.n_restarts - 1):
            spam, theta = (part.copy() for part in symmetric)
            drawn = rng.uniform(1.0, 2.0 + self.default_noise, (voted.size, 2 + k))
            spam[voted] = drawn[:, :2] / drawn[:, :2].sum(axis=1, keepdims=True)
            theta[voted] = drawn[:, 2:] / drawn[:, 2:].sum(axis=1, keepdims=True)
            starts.append((spam, theta))
        return starts

    def _run(
        self, votes: EncodedVotes, codes: IntArray | None, params: Params
    ) -> tuple[Params, Trace]:
        """One run: an E-step from ``params``, then M-step and E-step until the trace
        stops; returns the parameters of the last E-step."""
        trace = Trace(self.tol, self.max_iter)
        _, posterior, _ = e_step(_log_scores(votes, *params), codes)
        stop = False
        while not stop:
            params, penalty = self._m_step(*_expected_counts(votes, posterior, *params))
            _, posterior, log_lik = e_step(_log_scores(votes, *params), codes)
            stop = trace.record(log_lik - penalty)
        return params, trace

    def fit_predict_proba(
        self, votes: EncodedVotes, gold: npt.ArrayLike | None = None
    ) -> AggregationResult:
        """Run EM (with restarts) and return posteriors, competences and confusions."""
        codes = gold_codes(gold, votes)
        counts = vote_counts(votes)
        k = votes.n_classes
        runs = [self._run(votes, codes, start) for start in self._starts(votes)]
        (spam, theta), trace = max(runs, key=lambda run: run[1].history[-1])
        confusion = spam[:, 0, None, None] * theta[:, None, :] + spam[:, 1, None, None] * np.eye(k)
        confusion /= confusion.sum(axis=2, keepdims=True)
        free, _, _ = e_step(_log_scores(votes, spam, theta), codes)
        return em_result(
            "mace",
            counts,
            codes,
            trace,
            free,
            class_prior=np.full(k, 1.0 / k),
            skills=spam[:, 1] / spam.sum(axis=1),
            confusion=confusion,
            annotator_accuracy=np.diagonal(confusion, axis1=1, axis2=2).mean(axis=1),
        )
