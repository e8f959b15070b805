"""ZeroBasedSkill: a weighted majority vote whose weights are fitted by gradient steps.

As crowd-kit's ``ZeroBasedSkill``: every annotator starts with skill ``1 / K + 1e-5``; each
iteration takes the skill-weighted majority label of every item (ties to the lowest class
index) and moves each skill toward the annotator's agreement rate with those labels,
``s <- s + lr * (agreement - s)``. The learning rate starts at ``lr_init`` and is multiplied
by ``lr_reduce_factor`` at every ``lr_steps_to_reduce``-th iteration. The output is the
skill-weighted vote share under the final skills.

Stopping: when no skill moves by more than ``tol`` in an iteration (then the labels are a
fixed point and further iterations change nothing that matters), or after ``max_iter``
iterations; ``converged`` says which. With gold items the labels of those items are their
gold classes, and they are output as its one-hot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from labelprep.aggregation._em import (
    Iterative,
    agreement_with_argmax,
    gold_codes,
    make_result,
    weighted_vote,
)
from labelprep.aggregation._encoded import AggregationResult, EncodedVotes, vote_counts
from labelprep.errors import ConfigError


@dataclass(frozen=True)
class ZeroBasedSkill(Iterative):
    """Skill-weighted majority vote with skills fitted to agreement with the aggregate.

    Parameters
    ----------
    max_iter
        Most iterations, ``>= 1``.
    tol
        Stop when no skill changes by more than this, ``> 0``.
    lr_init, lr_steps_to_reduce, lr_reduce_factor
        The learning-rate schedule (crowd-kit's defaults: 1.0, 20, 0.5).

    Examples
    --------
    >>> from labelprep.aggregation import EncodedVotes
    >>> v = EncodedVotes(item=[0, 0, 0, 1, 1], annotator=[0, 1, 2, 0, 2],
    ...                  label=[0, 0, 1, 1, 0], n_items=2, n_annotators=3, n_classes=2)
    >>> result = ZeroBasedSkill().fit_predict_proba(v)
    >>> result.skills.tolist(), result.n_iter, result.converged
    ([0.5, 1.0, 0.5], 2, True)
    """

    name: ClassVar[str] = "zero-based-skill"

    tol: float = 1e-5
    lr_init: float = 1.0
    lr_steps_to_reduce: int = 20
    lr_reduce_factor: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        if not np.isfinite(self.lr_init) or self.lr_init <= 0:
            raise ConfigError(f"zero-based-skill: lr_init must be > 0, got {self.lr_init!r}.")
        if int(self.lr_steps_to_reduce) != self.lr_steps_to_reduce or self.lr_steps_to_reduce < 1:
            raise ConfigError("zero-based-skill: lr_steps_to_reduce must be an integer >= 1.")
        if not 0 < self.lr_reduce_factor <= 1:
            raise ConfigError("zero-based-skill: lr_reduce_factor must be in (0, 1].")

    def fit_predict_proba(
        self, votes: EncodedVotes, gold: npt.ArrayLike | None = None
    ) -> AggregationResult:
        """Fit the skills and return the skill-weighted vote shares."""
        codes = gold_codes(gold, votes)
        skills = np.full(votes.n_annotators, 1.0 / votes.n_classes + 1e-5)
        rate, n_iter, converged = self.lr_init, 0, False
        while n_iter < self.max_iter and not converged:
            n_iter += 1
            if n_iter % self.lr_steps_to_reduce == 0:
                rate *= self.lr_reduce_factor
            agreement = agreement_with_argmax(votes, weighted_vote(votes, skills), codes)
            step = rate * (agreement - skills)
            skills = skills + step
            converged = bool(np.max(np.abs(step), initial=0.0) <= self.tol)
        proba = weighted_vote(votes, skills)
        counts = vote_counts(votes)
        return make_result(
            "zero_based_skill",
            counts,
            codes,
            proba,
            skills=skills,
            n_iter=n_iter,
            converged=converged,
        )
