"""Vote shares: the fraction of an item's votes each class received, optionally smoothed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from labelprep.aggregation._em import gold_codes, make_result
from labelprep.aggregation._encoded import AggregationResult, EncodedVotes, vote_counts, vote_shares
from labelprep.errors import ConfigError


@dataclass(frozen=True)
class Shares:
    """Vote fractions with additive smoothing: ``(count_k + alpha) / (n_votes + K * alpha)``.

    An item without any vote gets the uniform distribution (which is also what the
    formula gives for ``alpha > 0``).

    Parameters
    ----------
    alpha
        Pseudo-count added to every class (Laplace smoothing for ``alpha=1``); ``>= 0``.

    Examples
    --------
    >>> from labelprep.aggregation import EncodedVotes
    >>> v = EncodedVotes(item=[0, 0, 0], annotator=[0, 1, 2], label=[0, 0, 1],
    ...                  n_items=1, n_annotators=3, n_classes=2)
    >>> Shares().fit_predict_proba(v).proba.round(3).tolist()
    [[0.667, 0.333]]
    >>> Shares(alpha=1.0).fit_predict_proba(v).proba.tolist()
    [[0.6, 0.4]]
    """

    alpha: float = 0.0

    def __post_init__(self) -> None:
        if not np.isfinite(self.alpha) or self.alpha < 0:
            raise ConfigError(f"shares: alpha must be a finite number >= 0, got {self.alpha!r}.")

    def fit_predict_proba(
        self, votes: EncodedVotes, gold: npt.ArrayLike | None = None
    ) -> AggregationResult:
        """Return the (smoothed) vote shares of every item."""
        counts = vote_counts(votes)
        proba = vote_shares(counts, self.alpha)
        return make_result("shares", counts, gold_codes(gold, votes), proba)
