"""Majority vote: one-hot of the plurality class, with a deterministic tie rule."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from labelprep.aggregation._em import gold_codes, make_result
from labelprep.aggregation._encoded import (
    AggregationResult,
    EncodedVotes,
    argmax_lowest,
    vote_counts,
)


@dataclass(frozen=True)
class Majority:
    """One-hot of the class with the most votes.

    Ties go to the lowest class index among the tied classes (the class that comes first
    in the vocabulary, as ``numpy.argmax``); the number of tied items is reported in
    ``AggregationResult.ties`` so that nothing is decided silently. An item without any
    vote gets the uniform distribution rather than an arbitrary class.

    Examples
    --------
    >>> from labelprep.aggregation import EncodedVotes
    >>> v = EncodedVotes(item=[0, 0, 1, 1, 1], annotator=[0, 1, 0, 1, 2],
    ...                  label=[1, 0, 1, 1, 0], n_items=2, n_annotators=3, n_classes=2)
    >>> result = Majority().fit_predict_proba(v)
    >>> result.proba.tolist(), result.ties
    ([[1.0, 0.0], [0.0, 1.0]], 1)
    """

    def fit_predict_proba(
        self, votes: EncodedVotes, gold: npt.ArrayLike | None = None
    ) -> AggregationResult:
        """Return one-hot rows of the plurality class (uniform rows for unvoted items)."""
        counts = vote_counts(votes)
        k = votes.n_classes
        one_hot = (np.arange(k) == argmax_lowest(counts)[:, None]).astype(np.float64)
        proba = np.where(counts.sum(axis=1)[:, None] > 0, one_hot, 1.0 / k)
        return make_result("majority", counts, gold_codes(gold, votes), proba)
