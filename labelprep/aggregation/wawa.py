"""Wawa (worker agreement with aggregate): a majority vote weighted by agreement with it.

As crowd-kit's ``Wawa``: (1) the majority vote of every item (ties to the lowest class
index); (2) each annotator's skill is the share of their votes equal to that majority label;
(3) the output is the skill-weighted vote share, ``sum of s_a over the votes for k / sum of
s_a over the item's votes``. An item whose voters all have skill 0 keeps its plain vote
shares. With gold items, step (1) uses their gold class, and they are output as its one-hot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy.typing as npt

from labelprep.aggregation._em import (
    agreement_with_argmax,
    gold_codes,
    make_result,
    weighted_vote,
)
from labelprep.aggregation._encoded import AggregationResult, EncodedVotes, vote_counts


@dataclass(frozen=True)
class Wawa:
    """Majority vote weighted by each annotator's agreement with the plain majority.

    Examples
    --------
    >>> from labelprep.aggregation import EncodedVotes
    >>> v = EncodedVotes(item=[0, 0, 0, 1, 1], annotator=[0, 1, 2, 0, 2],
    ...                  label=[0, 0, 1, 1, 0], n_items=2, n_annotators=3, n_classes=2)
    >>> result = Wawa().fit_predict_proba(v)
    >>> result.skills.tolist()
    [0.5, 1.0, 0.5]
    >>> result.proba.tolist()
    [[0.75, 0.25], [0.5, 0.5]]
    """

    def fit_predict_proba(
        self, votes: EncodedVotes, gold: npt.ArrayLike | None = None
    ) -> AggregationResult:
        """Return the skill-weighted vote shares and the skills."""
        codes = gold_codes(gold, votes)
        counts = vote_counts(votes)
        skills = agreement_with_argmax(votes, counts, codes)
        proba = weighted_vote(votes, skills)
        return make_result("wawa", counts, codes, proba, skills=skills)
